"""``observatory-gpu-exporter``: the NVML GPU exporter's command line."""

from __future__ import annotations

import importlib
import logging
import os
import sys
from collections.abc import Sequence

from prometheus_client import CollectorRegistry

from observatory.exporters.flags import Flag, parse_flags, positive_seconds, server_flags, text
from observatory.exporters.gpu_collector import GpuCollector
from observatory.exporters.server import serve

DEFAULT_PORT = 9835
FLAGS = (
    *server_flags("THEMIS_GPU_EXPORTER", DEFAULT_PORT),
    Flag(
        "--nvml-timeout",
        "THEMIS_GPU_EXPORTER_NVML_TIMEOUT",
        positive_seconds,
        "seconds a scrape waits for NVML before serving the last reading",
        1.0,
    ),
    Flag(
        "--nvml-module",
        "THEMIS_GPU_EXPORTER_NVML_MODULE",
        text,
        "Python module with NVML's functions (nvidia-ml-py's pynvml; tests load a substitute)",
        "pynvml",
    ),
)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse flags, register the GPU collector in a fresh registry and serve it until stopped."""
    args = parse_flags("observatory-gpu-exporter", "Expose NVML GPU metrics for Prometheus.", FLAGS, argv, os.environ)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        nvml = importlib.import_module(args.nvml_module)
    except ImportError as error:
        sys.stderr.write(f"observatory-gpu-exporter: error: cannot import --nvml-module {args.nvml_module}: {error}\n")
        return 2
    registry = CollectorRegistry()
    registry.register(GpuCollector(nvml, args.shard, args.nvml_timeout))
    serve(registry, args.listen_address, args.port, "Themis GPU exporter", args.max_scrapes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
