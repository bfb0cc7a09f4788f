"""The load generator's part of ``make bench``: its ceiling against wrk, inference concurrency, vector search.

``python -m observatory.loadgen.bench --out bench-results`` writes ``loadgen-ceiling.json``,
``loadgen-inference.json``, ``loadgen-vectors.json`` and ``loadgen-openai.json`` (with the agreement table
``loadgen-openai-agreement.md``), each with the machine it ran on and its figures
in the common shape (medians over ``--repeats``). The inference suite starts what it measures: a shard
and an orchestrator routing to it, planned and run by the same code as ``observatory up``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from observatory.commandline import OneLineParser
from observatory.loadgen.bench_ceiling import bench_ceiling
from observatory.loadgen.bench_inference import LEVELS, bench_inference
from observatory.loadgen.bench_openai import LEVELS as OPENAI_LEVELS
from observatory.loadgen.bench_openai import bench_openai, openai_stack
from observatory.loadgen.bench_vectors import bench_vectors
from observatory.loadgen.cli import count, positive
from observatory.loadgen.run import machine
from observatory.stack import Stack, plan_stack

SUITES = ("ceiling", "inference", "vectors", "openai")


def _numbers(convert: Callable[[str], float]) -> Callable[[str], list]:
    def parse(text: str) -> list:
        try:
            return [convert(part) for part in text.split(",")]
        except (ValueError, argparse.ArgumentTypeError) as error:
            raise argparse.ArgumentTypeError(f"must be a comma-separated list of counts, not {text}") from error

    return parse


@contextlib.contextmanager
def inference_stack(workdir: Path) -> Iterator[dict[str, str]]:
    """One shard and an orchestrator routing to it, planned as ``observatory up`` plans them.

    Yields ``{"shard": URL, "orchestrator": URL}``: the same shard measured directly and through the
    orchestrator, so the two rows of the table differ by the routing hop alone.
    """
    shard_settings = {"cache_dir": str(workdir / "cache"), "max_in_flight": 256}
    plan = plan_stack(("legal",), workdir, exporters=False, shard_config=lambda _domain: shard_settings)
    stack = Stack(plan.services, workdir)
    stack.start()
    try:
        urls = {service.name: service.url for service in plan.services}
        yield {"shard": urls["shard-legal"], "orchestrator": urls["orchestrator"]}
    finally:
        stack.stop()


def run_suite(name: str, args: argparse.Namespace) -> dict:
    """One suite's results."""
    if name == "ceiling":
        return bench_ceiling(args.repeats, args.seconds)
    if name == "inference":
        with tempfile.TemporaryDirectory() as scratch, inference_stack(Path(scratch)) as targets:
            return bench_inference(targets, tuple(args.levels), args.seconds, args.repeats)
    if name == "openai":
        with tempfile.TemporaryDirectory() as scratch, openai_stack(Path(scratch)) as urls:
            targets = {"shard": urls["shard"], "orchestrator": urls["orchestrator"]}
            return bench_openai(targets, urls["prometheus"], args.aiperf, OPENAI_LEVELS, args.seconds, args.repeats)
    return bench_vectors(sorted(args.vector_sizes), args.seconds, args.repeats)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the suites and write one JSON file per suite under ``--out``."""
    parser = OneLineParser(prog="python -m observatory.loadgen.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for the JSON results")
    parser.add_argument("--repeats", type=count, default=3, help="repeats per figure (default 3)")
    parser.add_argument("--seconds", type=positive, default=3.0, help="seconds per measurement (default 3)")
    parser.add_argument("--levels", type=_numbers(count), default=list(LEVELS), help="inference concurrencies")
    parser.add_argument("--vector-sizes", type=_numbers(count), default=[10_000, 100_000, 1_000_000],
                        help="collection sizes (default 10000,100000,1000000)")  # fmt: skip
    parser.add_argument("--only", type=lambda text: text.split(","), default=list(SUITES), help="suites to run")
    parser.add_argument("--aiperf", default=".venv-aiperf/bin/aiperf", help="the aiperf command of the openai suite "
                        "(default: the environment `make bench` installs it in)")  # fmt: skip
    args = parser.parse_args(argv)
    unknown = sorted(set(args.only) - set(SUITES))
    if unknown:
        parser.error(f"--only: unknown suite {unknown[0]} (choose from {', '.join(SUITES)})")
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.only:
        started = time.perf_counter()
        result = {"machine": machine()} | run_suite(name, args)
        result["wall_seconds"] = time.perf_counter() - started
        if "agreement_markdown" in result:
            (args.out / f"loadgen-{name}-agreement.md").write_text(result.pop("agreement_markdown"))
        (args.out / f"loadgen-{name}.json").write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
        sys.stdout.write(f"loadgen {name}: {result['wall_seconds']:.0f} s\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
