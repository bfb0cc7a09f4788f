"""Scrape benchmark: the host exporter beside Debian's node_exporter, and the GPU exporter on a substitute NVML.

Run from the repository root (``make bench``): the GPU exporter loads the substitute NVML binding
from the test helpers (``--support-path``), so its numbers are the exporter's own overhead.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from observatory.commandline import free_port

BIN = Path(sys.executable).parent


@dataclass
class Target:
    """A running exporter under test and what was measured on it."""

    name: str
    process: subprocess.Popen
    port: int
    latencies: list[float] = field(default_factory=list)
    cpu_seconds: float = 0.0
    body_bytes: int = 0

    def summary(self) -> dict[str, float]:
        """Median and p99 scrape latency (s), CPU seconds per 1000 scrapes and exposition size."""
        ordered = sorted(self.latencies)
        return {
            "scrapes": len(ordered),
            "median_seconds": statistics.median(ordered),
            "p99_seconds": ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))],
            "cpu_seconds_per_1000_scrapes": 1000 * self.cpu_seconds / len(ordered),
            "exposition_bytes": self.body_bytes,
        }


def _wait_ready(target: Target, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if target.process.poll() is not None:
            raise RuntimeError(f"{target.name} exited with {target.process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", target.port), timeout=1):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{target.name} did not listen within {timeout} s")


@contextlib.contextmanager
def _started(name: str, argv: Sequence[str], port: int, env: dict[str, str] | None = None) -> Iterator[Target]:
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    target = Target(name, process, port)
    try:
        _wait_ready(target)
        yield target
    finally:
        process.terminate()
        process.wait(timeout=30)


def _scrape_block(target: Target, scrapes: int) -> None:
    """``scrapes`` scrapes over one kept-alive connection, as Prometheus does, adding to the target's totals."""
    cpu = psutil.Process(target.process.pid)
    connection = http.client.HTTPConnection("127.0.0.1", target.port, timeout=30)
    before = sum(cpu.cpu_times()[:2])
    for _ in range(scrapes):
        started = time.perf_counter()
        connection.request("GET", "/metrics")
        response = connection.getresponse()
        body = response.read()
        target.latencies.append(time.perf_counter() - started)
        if response.status != 200:
            raise RuntimeError(f"{target.name} answered {response.status}")
        target.body_bytes = len(body)
    target.cpu_seconds += sum(cpu.cpu_times()[:2]) - before
    connection.close()


def _interleaved(targets: Sequence[Target], scrapes: int, rounds: int, warmup: int) -> None:
    # Alternating blocks share the machine's noise between the targets.
    for target in targets:
        _scrape_block(target, warmup)
        target.latencies.clear()
        target.cpu_seconds = 0.0
    for _ in range(rounds):
        for target in targets:
            _scrape_block(target, scrapes // rounds)


def run(scrapes: int, support_path: Path) -> dict[str, object]:
    """Start the three exporters on loopback, scrape them and return the results."""
    node_binary = shutil.which("prometheus-node-exporter")
    if node_binary is None:
        raise RuntimeError("prometheus-node-exporter is not installed (make toolchain)")
    node_port, host_port, gpu_port = free_port(), free_port(), free_port()
    common = ["--listen-address", "127.0.0.1", "--shard", "bench"]
    gpu_env = {**os.environ, "PYTHONPATH": str(support_path.resolve())}
    node_argv = [node_binary, f"--web.listen-address=127.0.0.1:{node_port}"]
    with _started("node_exporter", node_argv, node_port) as node:
        # The host exporter watches node_exporter as if it were the shard: pid and port parts included.
        host_argv = [
            str(BIN / "observatory-host-exporter"),
            *common,
            *("--port", str(host_port), "--pid", str(node.process.pid), "--shard-port", str(node_port)),
        ]
        gpu_argv = [
            str(BIN / "observatory-gpu-exporter"),
            *common,
            *("--port", str(gpu_port), "--nvml-module", "support.exporters"),
        ]
        with (
            _started("host_exporter", host_argv, host_port) as host,
            _started("gpu_exporter", gpu_argv, gpu_port, gpu_env) as gpu,
        ):
            _interleaved([host, node], scrapes, rounds=10, warmup=50)
            _interleaved([gpu], scrapes, rounds=1, warmup=50)
    ours, theirs = host.summary(), node.summary()
    return {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "host_exporter": ours,
        "node_exporter": theirs,
        "host_vs_node_exporter_ratio": {
            key: ours[key] / theirs[key]
            for key in ("median_seconds", "p99_seconds", "cpu_seconds_per_1000_scrapes", "exposition_bytes")
        },
        "target_median_at_most_node_exporter": ours["median_seconds"] <= theirs["median_seconds"],
        "gpu_exporter_substitute_nvml": gpu.summary(),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and write its JSON to ``--out``."""
    parser = argparse.ArgumentParser(prog="python -m observatory.exporters.bench", description=__doc__)
    parser.add_argument("--out", type=Path, required=True, help="where to write the JSON result")
    parser.add_argument("--scrapes", type=int, default=1000, help="scrapes per exporter (default 1000)")
    parser.add_argument(
        "--support-path", type=Path, default=Path("tests"), help="folder holding support/exporters.py (the substitute)"
    )
    args = parser.parse_args(argv)
    result = run(args.scrapes, args.support_path)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    sys.stdout.write(json.dumps(result["host_vs_node_exporter_ratio"], sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
