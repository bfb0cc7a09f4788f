"""The load generator's ceiling against a trivial endpoint, side by side with wrk and Locust on the same endpoint.

wrk (closed loop, 32 connections) gives the most the endpoint answers; the load generator's ceiling
is the highest constant rate it sustains open-loop: every request sent and answered, and at most 10 %
of them sent over 10 ms late (past its ceiling the backlog grows and nearly every send is late). On a
shared machine a probe can fail to a passing stall, so a rate fails only when two probes fail. Each
repeat measures all three, so their ratios come from one run on one machine state. Locust
(FastHttpUser, one process, 32 users without a pause) is closed loop like wrk: its rate is what its
users get through, the most a Locust run of that size can offer.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx

from observatory.commandline import free_port
from observatory.loadgen.bench_common import figures_of, spread
from observatory.loadgen.bench_locust import LOCUST_USERS, locust_rate
from observatory.loadgen.client import RunOptions
from observatory.loadgen.figures import HIGHER
from observatory.loadgen.run import RunPlan, run

WRK_CONNECTIONS = 32


@contextlib.contextmanager
def trivial_endpoint() -> Iterator[str]:
    """The trivial endpoint as a process on a free port; yields its URL."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "observatory.loadgen.trivial", "--port", str(port)])
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url, timeout=1).status_code == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the trivial endpoint did not start")
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def wrk_rate(url: str, seconds: float) -> float:
    """Requests per second wrk gets from ``url`` (one thread, :data:`WRK_CONNECTIONS` connections)."""
    binary = shutil.which("wrk")
    if binary is None:
        raise RuntimeError("wrk is not installed (make toolchain installs Debian's wrk)")
    argv = [binary, "-t1", f"-c{WRK_CONNECTIONS}", f"-d{max(1, round(seconds))}s", url]
    output = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=seconds + 30).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if match is None:
        raise RuntimeError(f"wrk printed no rate: {output.strip()[-200:]}")
    return float(match.group(1))


def sustains(url: str, qps: float, seconds: float, workers: int, tries: int = 2) -> bool:
    """Whether the load generator sends ``qps`` to ``url`` open-loop, on time and all answered."""
    for _ in range(tries):
        document, _ = run(RunPlan(url, "get", qps, seconds), RunOptions(workers=workers, drain_s=1.0, timeout_s=10))
        summary = document["summary"]
        if summary["failed"] == 0 and summary["unsent"] == 0 and summary["sent_late"] <= 0.1 * summary["sent"]:
            return True
    return False


def ceiling(url: str, start_qps: float, seconds: float, workers: int, steps: int = 4) -> float:
    """The highest rate sustained: up by half until a rate fails, then ``steps`` bisections."""
    low, high = 0.0, start_qps
    while sustains(url, high, seconds, workers):
        low, high = high, high * 1.5
    for _ in range(steps):
        middle = (low + high) / 2
        low, high = (middle, high) if sustains(url, middle, seconds, workers) else (low, middle)
    return low


def bench_ceiling(repeats: int, seconds: float, workers: int = 64) -> dict:
    """Ceiling, wrk's and Locust's rates per repeat, measured back to back, and the ceiling's ratios to both."""
    wrk, ours, locust = [], [], []
    with trivial_endpoint() as url:
        wrk_rate(url, 1)  # warm-up
        for _ in range(repeats):
            wrk.append(wrk_rate(url, seconds))
            ours.append(ceiling(url, wrk[-1] / 8, seconds, workers))
            locust.append(locust_rate(url, seconds))
    ratios = [mine / theirs for mine, theirs in zip(ours, wrk, strict=True)]
    to_locust = [mine / theirs for mine, theirs in zip(ours, locust, strict=True)]
    return {
        "endpoint": "aiohttp GET / answering ok (one process)",
        "wrk": {"threads": 1, "connections": WRK_CONNECTIONS},
        "loadgen_workers": workers,
        "seconds": seconds,
        "wrk_requests_per_second": spread(wrk),
        "loadgen_ceiling_qps": spread(ours),
        "loadgen_to_wrk_ratio": spread(ratios),
        "locust": {"user_class": "FastHttpUser", "users": LOCUST_USERS, "processes": 1},
        "locust_requests_per_second": spread(locust),
        "loadgen_to_locust_ratio": spread(to_locust),
        "target_ratio": 0.5,
        "figures": figures_of(
            {
                "wrk_requests_per_second": (wrk, "req/s", HIGHER),
                "loadgen_ceiling_qps": (ours, "req/s", HIGHER),
                "loadgen_to_wrk_ratio": (ratios, "ratio", HIGHER),
                "locust_requests_per_second": (locust, "req/s", HIGHER),
                "loadgen_to_locust_ratio": (to_locust, "ratio", HIGHER),
            }
        ),
    }
