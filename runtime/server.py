"""``observatory-shard``: run one shard on uvicorn until SIGTERM, SIGINT or an admin shutdown."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

import uvicorn

from observatory.commandline import OneLineParser
from observatory.runtime.app import create_app
from observatory.runtime.service import Shard
from observatory.runtime.settings import KEEP_ALIVE_SECONDS, SettingsError, ShardSettings, load_settings

# Flags that are not settings: where the settings file is, and how much to log.
_NOT_SETTINGS = ("config", "log_level")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line; flags left out fall back to the config file, then to the defaults.

    A bad flag is one line on stderr and exit 2.
    """
    parser = OneLineParser(
        prog="observatory-shard",
        description="Serve one Themis shard: inference, LoRA adapters, vector search and /metrics.",
        epilog="example: observatory-shard --domain legal --port 8080",
    )
    parser.add_argument("--domain", help="the shard's knowledge domain (legal, finance, medical, technical, ...)")
    parser.add_argument("--port", type=int, help="TCP port (default 8080)")
    parser.add_argument("--host", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--model", type=Path, help="a GGUF model (default: a generated tiny model)")
    parser.add_argument("--config", type=Path, help="a YAML or JSON file of settings (admin_token, budgets, ...)")
    parser.add_argument("--cache-dir", dest="cache_dir", type=Path, help="where the generated model is kept")
    parser.add_argument("--max-in-flight", dest="max_in_flight", type=int, help="requests worked on at once")
    parser.add_argument("--max-queued", dest="max_queued", type=int, help="requests waiting in line before 429")
    parser.add_argument("--gpu-profile", dest="gpu_profile", help="VRAM budget profile: gtx_1080, rtx_4070, ...")
    parser.add_argument("--gpu-layers", dest="n_gpu_layers", type=int,
                        help="layers llama.cpp offloads to the GPU (-1: all; default: all if it can)")  # fmt: skip
    parser.add_argument("--no-metrics", dest="metrics_enabled", action="store_const", const=False,
                        help="record no metrics (benchmark baseline)")  # fmt: skip
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    return parser.parse_args(argv)


def settings_from(args: argparse.Namespace) -> ShardSettings:
    """Settings from the parsed command line."""
    overrides = {name: value for name, value in vars(args).items() if name not in _NOT_SETTINGS}
    settings = load_settings(args.config, overrides)
    if settings.model is not None and not settings.model.is_file():
        raise SettingsError(f"--model: no such file: {settings.model}")
    return settings


def _stopped_as_asked(_signum: int, _frame: object) -> None:
    raise SystemExit(0)


class _ShardServer(uvicorn.Server):
    """uvicorn's server, telling the shard the moment a stop signal arrives.

    uvicorn waits for every open request before it stops; requests still waiting in the admission
    queue are answered 503 at once instead of waiting out their queue time.
    """

    def __init__(self, config: uvicorn.Config, shard: Shard) -> None:
        super().__init__(config)
        self._shard = shard

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self._shard.begin_shutdown()
        super().handle_exit(sig, frame)


def serve(settings: ShardSettings, log_level: str = "info") -> int:
    """Run the shard until it is told to stop; SIGTERM and SIGINT drain it, then it exits 0.

    Returns the exit status: 1 if the shard could not start (so that Kubernetes restarts it), else 0.

    uvicorn catches both signals to drain in-flight requests, and after its shutdown re-raises the
    one it caught under the handler it found installed; the default handler would end a cleanly
    drained shard with -15. The handler found is this one: a stop asked for is a clean exit. It also
    ends a shard cleanly if a signal arrives before uvicorn listens (while the model is generated).
    """
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, _stopped_as_asked)
    server: uvicorn.Server | None = None

    def request_shutdown() -> None:
        if server is not None:
            server.should_exit = True

    try:
        shard = Shard(settings, request_shutdown)
    except OSError as error:
        # The only file work before serving: writing the generated model into the cache directory.
        raise SettingsError(f"--cache-dir: cannot write the generated model: {error}") from error
    config = uvicorn.Config(
        create_app(shard), host=settings.host, port=settings.port, log_level=log_level, access_log=False,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )  # fmt: skip
    server = _ShardServer(config, shard)
    server.run()
    return shard.exit_code


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``observatory-shard``."""
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("gguf").setLevel(logging.WARNING)  # the model writer logs every file it writes
    try:
        return serve(settings_from(args), args.log_level)
    except SettingsError as error:
        sys.stderr.write(f"observatory-shard: {error}\n")
        return 2


if __name__ == "__main__":
    sys.exit(main())
