"""The ``observatory`` command: generate artefacts, lint definitions, print the catalogue or the configuration."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml

from observatory.catalogue import CATALOGUE
from observatory.commandline import OneLineParser
from observatory.config import DEFAULT_CONFIG, ConfigError, ObservatoryConfig, config_yaml, load_config
from observatory.exporters.flags import positive_seconds
from observatory.metric import Metric
from observatory.restart_policy import RestartPolicy

FORMATS = ("yaml", "json", "markdown")


def metric_as_dict(metric: Metric) -> dict[str, object]:
    """A plain-data view of a catalogue entry, for YAML and JSON output."""
    return {
        "name": metric.name,
        "type": metric.type.value,
        "help": metric.help,
        "unit": metric.unit.value,
        "source": metric.source.value,
        "also_exposed_by": [s.value for s in metric.also_exposed_by],
        "labels": [
            {"name": label.name, "help": label.help, "values": list(label.values), "max_values": label.bound}
            for label in metric.labels
        ],
        "buckets": list(metric.buckets),
        "seed_name": metric.seed.name if metric.seed else None,
    }


def _cmd_catalogue(args: argparse.Namespace) -> int:
    if args.format == "markdown":
        from observatory.docs import metrics_markdown

        sys.stdout.write(metrics_markdown(CATALOGUE))
        return 0
    data = [metric_as_dict(metric) for metric in CATALOGUE]
    if args.format == "json":
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
    else:
        sys.stdout.write(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return 0


def _config(args: argparse.Namespace, command: str) -> ObservatoryConfig | None:
    """The configuration ``--config`` names (defaults without it); None after printing the error line."""
    if args.config is None:
        return DEFAULT_CONFIG
    try:
        return load_config(Path(args.config))
    except ConfigError as error:
        sys.stderr.write(f"observatory {command}: {args.config}: {error}\n")
        return None


def _cmd_generate(args: argparse.Namespace) -> int:
    from observatory.artefacts import all_artefacts, write_artefacts

    config = _config(args, "generate")
    if config is None:
        return 2
    root = Path(args.out)
    try:
        files = all_artefacts(config)
    except ValueError as error:
        # A combination the definitions cannot generate (a latency SLO threshold that is no bucket bound).
        sys.stderr.write(f"observatory generate: {args.config or 'default configuration'}: {error}\n")
        return 2
    try:
        changed = write_artefacts(root, files)
    except OSError as error:
        sys.stderr.write(f"observatory generate: cannot write to {root}: {error.strerror or error}\n")
        return 1
    sys.stdout.write(f"{len(files)} files generated under {root}, {len(changed)} changed\n")
    return 0


def _cmd_config(args: argparse.Namespace) -> int:
    config = _config(args, "config")
    if config is None:
        return 2
    sys.stdout.write(config_yaml(config))
    return 0


def _cmd_lint(args: argparse.Namespace) -> int:
    from observatory.lint import FIELD_RULES, run_lint
    from observatory.lint.exemptions import ExemptionError, load_exemptions

    config = _config(args, "lint")
    if config is None:
        return 2
    try:
        exemptions = (
            load_exemptions(Path(args.exemptions), (rule.id for rule in FIELD_RULES)) if args.exemptions else None
        )
    except ExemptionError as error:
        sys.stderr.write(f"observatory lint: {args.exemptions}: {error}\n")
        return 2
    report = run_lint(config, exemptions)
    sys.stdout.write(report.render())
    return 0 if report.ok else 1


def _base_url(value: str) -> str:
    from observatory.verify.http import VerifyError, check_base_url

    try:
        return check_base_url(value)
    except VerifyError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _cmd_verify(args: argparse.Namespace) -> int:
    from observatory import dashboards
    from observatory.artefacts import panel_linker
    from observatory.rules.mixin import rule_groups
    from observatory.verify import VerifyError, render_json, render_table, verify

    config = _config(args, "verify")
    if config is None:
        return 2
    suite = dashboards.dashboards(config)
    try:
        report = verify(args.prometheus, args.alertmanager, CATALOGUE, suite, rule_groups(config, panel_linker(config)))
    except VerifyError as error:
        sys.stderr.write(f"observatory verify: {error}\n")
        return 1
    sys.stdout.write(render_json(report) if args.format == "json" else render_table(report))
    return 0 if report.ok else 1


def _cmd_up(args: argparse.Namespace) -> int:
    import tempfile

    from observatory.stack import Stack, StackError, parse_domains, plan_stack
    from observatory.stack_monitoring import MonitoringError
    from observatory.supervisor import run_until_stopped

    config = _config(args, "up")
    if config is None:
        return 2
    try:
        domains = parse_domains(args.shards) if args.shards is not None else list(config.shards)
    except ValueError as error:
        sys.stderr.write(f"observatory up: {error}\n")
        return 2
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="themis-stack-"))
    monitoring = None if args.no_monitoring else config
    try:
        plan = plan_stack(domains, workdir, orchestrator_port=args.port, monitoring=monitoring,
                          webhook_url=args.webhook_url)  # fmt: skip
    except MonitoringError as error:
        sys.stderr.write(f"observatory up: {error}; or run without them: --no-monitoring\n")
        return 1
    try:
        policy = RestartPolicy(enabled=not args.no_restart, initial_delay=args.restart_delay)
        return run_until_stopped(Stack(plan.services, workdir), sys.stdout, policy)
    except StackError as error:
        sys.stderr.write(f"observatory up: {error}\n")
        return 1


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface, with one sub-command per job."""
    parser = OneLineParser(prog="observatory", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)

    generate = commands.add_parser(
        "generate", help="write dashboards, rules, rule tests and docs (example: observatory generate --out .)"
    )
    generate.add_argument("--out", default=".", help="repository root to write into (default: .)")
    generate.add_argument("--config", metavar="FILE", help="YAML file overriding configuration fields")
    generate.set_defaults(run=_cmd_generate)

    config = commands.add_parser(
        "config",
        help="print the configuration as YAML (example: observatory config --defaults > observatory.yml)",
    )
    source = config.add_mutually_exclusive_group(required=True)
    source.add_argument("--defaults", action="store_true", help="the full default configuration")
    source.add_argument("--config", metavar="FILE", help="the defaults with FILE's overrides applied")
    config.set_defaults(run=_cmd_config)

    lint = commands.add_parser(
        "lint",
        help="check every query, rule and test against the catalogue and the rules of dashboard-linter, mixtool"
        " and pint (example: observatory lint --exemptions my-exemptions.yml)",
    )
    lint.add_argument("--config", metavar="FILE", help="YAML file overriding configuration fields")
    lint.add_argument(
        "--exemptions",
        metavar="FILE",
        help="rules of the field linters spared on named objects, with reasons (default: the shipped"
        " observatory/lint/field-exemptions.yml)",
    )
    lint.set_defaults(run=_cmd_lint)

    verify = commands.add_parser(
        "verify",
        help="check a running Prometheus against the dashboards, catalogue and rules; exit 1 on any gap"
        " (example: observatory verify --prometheus http://localhost:9090 --format json)",
    )
    verify.add_argument("--prometheus", required=True, metavar="URL", type=_base_url, help="the Prometheus to check")
    verify.add_argument("--alertmanager", metavar="URL", type=_base_url, help="an Alertmanager that must be reachable")
    verify.add_argument("--format", choices=("table", "json"), default="table")
    verify.add_argument("--config", metavar="FILE", help="YAML file overriding configuration fields")
    verify.set_defaults(run=_cmd_verify)

    catalogue = commands.add_parser(
        "catalogue", help="print the catalogue (example: observatory catalogue --format json)"
    )
    catalogue.add_argument("--format", choices=FORMATS, default="yaml")
    catalogue.set_defaults(run=_cmd_catalogue)

    up = commands.add_parser(
        "up",
        help="run a local stack: orchestrator, shards, exporters, Prometheus with the generated rules and"
        " Alertmanager, restarting a service that dies (example: observatory up --shards legal --webhook-url"
        " http://127.0.0.1:5001/alerts)",
    )
    up.add_argument("--shards", help="domains, one shard each (default: the configuration's shards)")
    up.add_argument("--port", type=int, help="the orchestrator's port (default: a free one)")
    up.add_argument("--workdir", help="where configs, logs and the task store go (default: a new temporary folder)")
    up.add_argument("--config", metavar="FILE", help="YAML file overriding configuration fields (rules, alerts)")
    up.add_argument("--webhook-url", metavar="URL", type=_base_url, help="where Alertmanager sends notifications")
    up.add_argument("--no-monitoring", action="store_true", help="run without Prometheus and Alertmanager")
    up.add_argument("--no-restart", action="store_true", help="report a service that dies, do not restart it")
    up.add_argument("--restart-delay", type=positive_seconds, default=RestartPolicy.initial_delay, metavar="SECONDS",
                    help=f"wait before the first restart of a dead service, doubled for each one after"
                    f" (default {RestartPolicy.initial_delay:g}, as the kubelet)")  # fmt: skip
    up.set_defaults(run=_cmd_up)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``observatory`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
