"""``observatory-host-exporter``: the psutil host exporter's command line."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence

import psutil
from prometheus_client import CollectorRegistry

from observatory.exporters.flags import Flag, parse_flags, port, positive_int, server_flags, text
from observatory.exporters.host_collector import HostCollector
from observatory.exporters.server import serve
from observatory.exporters.tcp_diag import established_connections

DEFAULT_PORT = 9100
FLAGS = (
    *server_flags("THEMIS_HOST_EXPORTER", DEFAULT_PORT),
    Flag("--pid", "THEMIS_SHARD_PID", positive_int, "pid of the shard process, for its CPU and RSS"),
    Flag("--shard-port", "THEMIS_SHARD_PORT", port, "the shard's service port, for active connections"),
    Flag(
        "--shard-program",
        "THEMIS_SHARD_PROGRAM",
        text,
        "without --pid: the shard's program (e.g. observatory-shard), its process found by command line",
    ),
)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse flags, register the host collector in a fresh registry and serve it until stopped."""
    args = parse_flags("observatory-host-exporter", "Expose host metrics for Prometheus.", FLAGS, argv, os.environ)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    registry = CollectorRegistry()
    # sock_diag asks the kernel for established sockets only; psutil parses every socket of the host.
    counter = established_connections if sys.platform == "linux" else None
    registry.register(HostCollector(psutil, args.shard, args.pid, args.shard_port, counter, args.shard_program))
    serve(registry, args.listen_address, args.port, "Themis host exporter", args.max_scrapes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
