"""``observatory-orchestrator``: serve the orchestrator on uvicorn until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from observatory.commandline import OneLineParser
from observatory.orchestrator.app import create_app
from observatory.orchestrator.durable import Store, StoreError, TaskRunner
from observatory.orchestrator.operations import handlers
from observatory.orchestrator.service import Orchestrator
from observatory.orchestrator.settings import OrchestratorSettings, load_settings
from observatory.runtime.settings import SettingsError


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line; a bad flag is one line on stderr and exit 2."""
    parser = OneLineParser(
        prog="observatory-orchestrator",
        description="Route work across the Themis domain shards: inference with failover, RAG, reasoning, tasks.",
        epilog="example: observatory-orchestrator --config orchestrator.yml --port 8000",
    )
    parser.add_argument("--config", type=Path, required=True, help="YAML or JSON settings: domains and their shards")
    parser.add_argument("--host", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="TCP port (default 8000)")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    return parser.parse_args(argv)


def _stopped_as_asked(_signum: int, _frame: object) -> None:
    raise SystemExit(0)


def build(settings: OrchestratorSettings) -> FastAPI:
    """The app for ``settings``: the store at ``store_url`` and a task runner that owns this process's work."""
    try:
        store = Store.open(settings.store_url)
    except StoreError as error:
        raise SettingsError(f"store_url: {' '.join(str(error).split())}") from error
    orchestrator = Orchestrator(settings, store)
    metrics = orchestrator.metrics
    runner = TaskRunner(store, settings.owner, handlers(orchestrator), on_queue_depth=metrics.queue_depth,
                        on_conflict=lambda _reason: metrics.store_conflict())  # fmt: skip
    return create_app(orchestrator, runner)


def serve(settings: OrchestratorSettings, log_level: str = "info") -> None:
    """Run until SIGTERM or SIGINT; uvicorn drains in-flight requests, then the process exits 0.

    uvicorn re-raises the signal it caught under the handler it found: this one turns it into exit 0.
    """
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, _stopped_as_asked)
    config = uvicorn.Config(build(settings), host=settings.host, port=settings.port, log_level=log_level,
                            access_log=False)  # fmt: skip
    uvicorn.Server(config).run()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``observatory-orchestrator``."""
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # it logs every request to a shard at INFO
    try:
        settings = load_settings(args.config, {"host": args.host, "port": args.port})
        serve(settings, args.log_level)
    except SettingsError as error:
        sys.stderr.write(f"observatory-orchestrator: {error}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
