"""``observatory-loadgen``: ``run`` a load test, ``analyze`` its results, ``compare`` results against a baseline."""

from __future__ import annotations

import argparse
import contextlib
import datetime
import math
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from urllib.parse import urlsplit

from observatory.commandline import OneLineParser
from observatory.loadgen import schedule
from observatory.loadgen.client import Progress, RunOptions, TargetError
from observatory.loadgen.compare import compare, load, table
from observatory.loadgen.figures import ResultsError
from observatory.loadgen.profiles import PROFILES, ProfileError
from observatory.loadgen.run import RunPlan, run, with_targets, write
from observatory.loadgen.streaming import OBJECTIVES
from observatory.loadgen.targets import Targets, summary_text

PROG = "observatory-loadgen"


def positive(text: str) -> float:
    """A number above zero."""
    value = float(text)
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number above 0, not {text}")
    return value


def count(text: str) -> int:
    """A whole number of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {text}")
    return value


def percent(text: str) -> float:
    """A percentage, written ``1`` or ``1%``."""
    value = float(text.strip().removesuffix("%"))
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"must be a percentage from 0 to 100, not {text}")
    return value


def seconds_range(text: str) -> tuple[float, float]:
    """``LOW,HIGH`` seconds with 0 <= LOW <= HIGH."""
    try:
        low, high = (float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be LOW,HIGH seconds, not {text}") from None
    if not 0 <= low <= high:
        raise argparse.ArgumentTypeError(f"needs 0 <= LOW <= HIGH, not {text}")
    return low, high


def size_range(text: str) -> tuple[int, int]:
    """``LOW,HIGH`` batch sizes with 1 <= LOW <= HIGH."""
    low, high = seconds_range(text)
    if low < 1 or low != int(low) or high != int(high):
        raise argparse.ArgumentTypeError(f"must be whole sizes 1 <= LOW <= HIGH, not {text}")
    return int(low), int(high)


def objectives(text: str) -> tuple[tuple[str, float], ...]:
    """``NAME=DURATION,...`` goodput objectives (``ttft=200ms,tpot=50ms``) as seconds by name."""
    parsed = []
    for part in text.split(","):
        name, _, value = part.strip().partition("=")
        if name not in OBJECTIVES:
            raise argparse.ArgumentTypeError(f"{name or part!r} is no objective; use {', '.join(OBJECTIVES)}")
        number, unit = (value[:-2], 1e-3) if value.endswith("ms") else (value.removesuffix("s"), 1.0)
        try:
            bound = float(number) * unit
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name}={value}: expected a duration such as 200ms or 1.5s") from None
        if not 0 < bound < math.inf:
            raise argparse.ArgumentTypeError(f"{name}={value}: must be a finite duration above 0")
        parsed.append((name, bound))
    return tuple(parsed)


def target_url(text: str) -> str:
    """An http(s) URL with a host, without a trailing slash."""
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(f"must be an http:// or https:// URL, not {text}")
    return text.rstrip("/")


def _run_parser(commands: argparse._SubParsersAction) -> None:
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    parser = commands.add_parser("run", help="an open-loop load test", description="Send requests at planned "
                                 "times and measure latency from those times (coordinated omission corrected).")
    parser.add_argument("--target", type=target_url, required=True, help="base URL of a shard or the orchestrator "
                        "(with --profile get: the URL to GET)")  # fmt: skip
    parser.add_argument("--qps", type=positive, default=10.0, help="requests per second (default 10)")
    parser.add_argument("--duration", type=positive, default=10.0, help="seconds of sending (default 10)")
    parser.add_argument("--workers", type=count, default=64, help="most requests in flight (default 64)")
    parser.add_argument("--profile", choices=sorted(PROFILES), help="request mix (default mixed; tasks with "
                        "--pattern)")  # fmt: skip
    parser.add_argument("--burst", action="store_true", help="seed 001's burst cycle: base, 15/7 x base, base")
    parser.add_argument("--pattern", choices=schedule.TASK_PATTERNS, help="seed 003's traffic pattern "
                        "(--requests, --interval, --batch, --batch-range) instead of a constant rate")  # fmt: skip
    parser.add_argument("--requests", type=count, default=100, help="requests of a --pattern (default 100)")
    parser.add_argument("--interval", type=seconds_range, default=(0.5, 2.0), help="LOW,HIGH random wait (s)")
    parser.add_argument("--batch", type=count, default=10, help="batch size of --pattern bursts (default 10)")
    parser.add_argument("--batch-range", type=size_range, default=(5, 20), help="LOW,HIGH size of dynamic bursts")
    parser.add_argument("--poll-interval", type=positive, default=1.0, help="seconds between task polls")
    parser.add_argument("--timeout", type=positive, default=30.0, help="seconds a request may take (default 30)")
    parser.add_argument("--drain", type=float, default=5.0, help="seconds after the last due time in which late "
                        "requests are still sent (default 5)")  # fmt: skip
    parser.add_argument("--late-after-ms", type=float, default=10.0, help="a send this late counts as late")
    parser.add_argument("--seed", type=int, default=0, help="seed of the request mix and random waits")
    parser.add_argument("--model", default="", help="openai profile: the model to ask for (default: the first the "
                        "target lists at /v1/models; on the orchestrator a domain such as legal)")  # fmt: skip
    parser.add_argument("--max-tokens", type=count, default=32, help="openai profile: tokens per answer (default 32)")
    parser.add_argument("--slo", type=objectives, default=(), help="openai profile: goodput objectives, such as "
                        "ttft=200ms,tpot=50ms (also itl, latency)")  # fmt: skip
    parser.add_argument("--output", type=Path, default=Path(f"results/load-test-{stamp}.json"), help="results JSON")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--p50-under-ms", type=positive, help="target: corrected p50 below this")
    parser.add_argument("--p95-under-ms", type=positive, help="target: corrected p95 below this")
    parser.add_argument("--p99-under-ms", type=positive, help="target: corrected p99 below this")
    parser.add_argument("--qps-at-least", type=positive, help="target: achieved requests per second")
    parser.add_argument("--error-rate-under", type=percent, help="target: error rate below this percentage")


@contextlib.contextmanager
def progress_bar(total: int, enabled: bool) -> Iterator[Progress | None]:
    """A rich progress bar with live QPS and errors, on stderr; nothing when disabled."""
    if not enabled:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as Bar

    columns = (TextColumn("load"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[qps]:>8.1f} req/s"),
               TextColumn("[red]{task.fields[errors]} errors"), TimeElapsedColumn())  # fmt: skip
    with Bar(*columns, refresh_per_second=4, transient=False) as bar:
        task = bar.add_task("load", total=total, qps=0.0, errors=0)
        yield Progress(total, lambda done, qps, errors: bar.update(task, completed=done, qps=qps, errors=errors))


def command_run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """Run a load test; exit 1 when a target was missed."""
    if args.burst and args.pattern:
        parser.error("--burst and --pattern: choose one")
    if args.drain < 0 or args.late_after_ms < 0:
        parser.error("--drain and --late-after-ms must not be negative")
    pattern = None
    if args.pattern:
        pattern = schedule.TaskPattern(args.pattern, args.requests, args.interval, args.batch, args.batch_range)
    profile = args.profile or ("tasks" if pattern else "mixed")
    if args.slo and profile != "openai":
        parser.error("--slo: goodput objectives need --profile openai")
    plan = RunPlan(args.target, profile, args.qps, args.duration, args.burst, pattern, args.seed, args.model,
                   args.max_tokens, args.slo)  # fmt: skip
    options = RunOptions(args.workers, args.timeout, args.drain, args.late_after_ms / 1000, args.poll_interval)
    targets = Targets(args.p50_under_ms, args.p95_under_ms, args.p99_under_ms, args.qps_at_least,
                      args.error_rate_under)  # fmt: skip
    show = not args.no_progress and sys.stderr.isatty()
    try:
        with progress_bar(len(plan.offsets()), show) as progress:
            document, _ = run(plan, options, progress)
    except (TargetError, ProfileError) as error:
        sys.stderr.write(f"{PROG} run: --target {args.target}: {error}\n")
        return 1
    results = with_targets(document, targets)
    try:
        write(document, args.output)
    except OSError as error:
        sys.stderr.write(f"{PROG} run: cannot write {args.output}: {error.strerror}\n")
        return 1
    summary = document["summary"]
    sys.stdout.write(summary_text(summary, results) + f"Results: {args.output}\n")
    if summary["sent"] and summary["statuses"].get("0") == summary["sent"]:
        sys.stderr.write(f"{PROG} run: --target {args.target}: no request got an answer\n")
        return 1
    return 0 if all(check.passed for check in results) else 1


def tolerance(text: str) -> float:
    """A tolerance written ``10%`` or ``10`` (percent), as a fraction; ``off`` allows any change."""
    return math.inf if text == "off" else percent(text) / 100


def command_analyze(_: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """Write the plots and the report of a results file."""
    from observatory.loadgen.analyze import analyze  # matplotlib loads only for this command

    out = args.out or args.results.with_name(f"{args.results.stem}-analysis")
    try:
        written = analyze(args.results, out)
    except ResultsError as error:
        sys.stderr.write(f"{PROG} analyze: {error}\n")
        return 1
    except OSError as error:
        sys.stderr.write(f"{PROG} analyze: cannot write under {out}: {error.strerror}\n")
        return 1
    sys.stdout.write("".join(f"{path}\n" for path in written))
    return 0


def command_compare(_: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """Compare two results; exit 1 on a regression beyond the tolerance."""
    try:
        deltas = compare(load(args.baseline), load(args.current), args.tolerance, args.absolute_tolerance)
    except ResultsError as error:
        sys.stderr.write(f"{PROG} compare: {error}\n")
        return 1
    failed = [delta for delta in deltas if delta.failed]
    sys.stdout.write(table(deltas))
    allowed = f"{args.tolerance * 100:g}%"
    if args.absolute_tolerance == math.inf:
        allowed += " (absolute figures shown, not gated)"
    elif args.absolute_tolerance is not None:
        allowed += f" (absolute figures {args.absolute_tolerance * 100:g}%)"
    verdict = f"{len(failed)} of {len(deltas)} figures regressed beyond {allowed}" if failed else (
        f"no regression beyond {allowed} in {len(deltas)} figures")  # fmt: skip
    sys.stdout.write(f"\n{verdict}\n")
    return 1 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    """The command line of every sub-command."""
    parser = OneLineParser(prog=PROG, description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    _run_parser(commands)
    analyze = commands.add_parser("analyze", help="plots and a Markdown report of a run")
    analyze.add_argument("results", type=Path, help="a results JSON of observatory-loadgen run")
    analyze.add_argument("--out", type=Path, help="folder for the PNGs and report.md (default: <results>-analysis)")
    gate = commands.add_parser("compare", help="per-figure deltas against a baseline; exit 1 on a regression")
    gate.add_argument("--baseline", type=Path, required=True, help="results JSON (a load test or make bench)")
    gate.add_argument("--current", type=Path, required=True, help="results JSON to judge")
    gate.add_argument("--tolerance", type=tolerance, default=0.10, help="allowed change the wrong way (default 10%%)")
    gate.add_argument("--absolute-tolerance", type=tolerance,
                      help="allowed change of rates and latencies, or off (default: --tolerance)")  # fmt: skip
    commands.add_parser("locustfile", help="the path of the Locust file with the same request mix, for locust -f")
    return parser


def command_locustfile(_parser: argparse.ArgumentParser, _args: argparse.Namespace) -> int:
    """Print where the installed Locust file is: ``locust -f "$(observatory-loadgen locustfile)" ...``."""
    sys.stdout.write(f"{Path(__file__).with_name('locustfile.py')}\n")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``observatory-loadgen``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    sub = parser._subparsers._group_actions[0].choices[args.command]  # the sub-command's own parser, for its errors
    commands = {"run": command_run, "analyze": command_analyze, "compare": command_compare,
                "locustfile": command_locustfile}  # fmt: skip
    return commands[args.command](sub, args)


if __name__ == "__main__":
    sys.exit(main())
