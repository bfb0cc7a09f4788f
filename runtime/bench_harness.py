"""What the benchmarks share: servers started on loopback (a shard, llama-cpp-python's own OpenAI-compatible
server) and closed-loop load."""

from __future__ import annotations

import contextlib
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from observatory.commandline import free_port


def spread(values: list[float]) -> dict:
    """Median, quartiles and extremes of ``values``."""
    quartiles = statistics.quantiles(values, n=4)
    return {"median": statistics.median(values), "q1": quartiles[0], "q3": quartiles[2],
            "min": min(values), "max": max(values)}  # fmt: skip


def per_second(count: float, seconds: float) -> float:
    """``count`` per second of ``seconds`` (0 for no time)."""
    return count / seconds if seconds > 0 else 0.0


class LoadGenerator:
    """Closed-loop workers, each with one keep-alive HTTP client, kept across measurements.

    Threads and connections are made once, so a short measurement times requests, not set-up.
    """

    def __init__(self, workers: int) -> None:
        self._pool = ThreadPoolExecutor(workers)
        self._clients = [httpx.Client(timeout=120) for _ in range(workers)]

    def rate(self, work: Callable[[httpx.Client], int], seconds: float) -> float:
        """Units of ``work`` per second, from every worker calling it for ``seconds``."""

        def worker(client: httpx.Client) -> int:
            done, deadline = 0, time.perf_counter() + seconds
            while time.perf_counter() < deadline:
                done += work(client)
            return done

        started = time.perf_counter()
        total = sum(self._pool.map(worker, self._clients))
        return per_second(total, time.perf_counter() - started)

    def close(self) -> None:
        """Close the connections and stop the workers."""
        for client in self._clients:
            client.close()
        self._pool.shutdown()


@contextlib.contextmanager
def _serving(argv: list[str], ready_path: str, port: int, what: str) -> Iterator[str]:
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}{ready_path}", timeout=2).status_code == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not start (exit {process.poll()})")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextlib.contextmanager
def shard_process(cache_dir: Path, *flags: str) -> Iterator[str]:
    """A shard process on a free loopback port; yields its base URL once started."""
    port = free_port()
    script = Path(sys.executable).with_name("observatory-shard")
    argv = [str(script), "--domain", "legal", "--port", str(port), "--cache-dir", str(cache_dir),
            "--max-in-flight", "256", "--log-level", "warning", *flags]  # fmt: skip
    with _serving(argv, "/startup", port, "the shard") as base:
        yield base


@contextlib.contextmanager
def llama_cpp_server(model: Path, n_ctx: int, seed: int) -> Iterator[str]:
    """``python -m llama_cpp.server`` (llama-cpp-python's ``server`` extra) serving ``model``.

    Concurrent requests wait their turn: by default a new request interrupts the one streaming.
    """
    port = free_port()
    argv = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
            "--port", str(port), "--n_ctx", str(n_ctx), "--seed", str(seed), "--verbose", "false",
            "--interrupt_requests", "false"]  # fmt: skip
    with _serving(argv, "/v1/models", port, "llama_cpp.server") as base:
        yield base
