"""Helpers for the agreement tests: the aiperf binary ``make test`` installs, and client windows in Prometheus."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from observatory.loadgen.agreement import Query, Window
from support.prometheus import PrometheusServer

# aiperf pins libraries (prometheus-client among them) below what this project needs, so `make test`
# gives it a virtual environment of its own at the repository's root.
AIPERF_VENV = ".venv-aiperf"


def aiperf_binary(repo_root: Path) -> str:
    """The aiperf command: the project's own environment of it, else one on PATH; fails when neither is there."""
    own = repo_root / AIPERF_VENV / "bin" / "aiperf"
    found = str(own) if own.exists() else shutil.which("aiperf")
    assert found, f"aiperf is missing: `make test` installs it into {AIPERF_VENV}/"
    return found


def instant(prometheus: PrometheusServer) -> Query:
    """Instant queries at a given time, as the agreement checks make them."""

    def query(expr: str, at: float) -> list[float]:
        return [float(s["value"][1]) for s in prometheus.api("query", query=expr, time=f"{at:.3f}")["result"]]

    return query


def scraped_after(prometheus: PrometheusServer, job: str, after: float, timeout: float = 30.0) -> float:
    """The time of the first scrape of ``job`` at or after ``after`` (Unix seconds), once Prometheus has it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stamps = [float(s["value"][1]) for s in prometheus.query(f'timestamp(up{{job="{job}"}})')]
        if stamps and stamps[0] >= after:
            return stamps[0]
        time.sleep(0.2)
    raise AssertionError(f"Prometheus did not scrape {job} after {after} within {timeout} s")


class ClientWindow:
    """``with ClientWindow(...) as window:`` around a client's run: both ends fall on scrapes with no traffic."""

    def __init__(self, prometheus: PrometheusServer, job: str) -> None:
        self._prometheus, self._job = prometheus, job
        self.window: Window | None = None

    def __enter__(self) -> ClientWindow:
        self._start = scraped_after(self._prometheus, self._job, time.time())
        return self

    def __exit__(self, *_: object) -> None:
        self.window = Window(self._start, scraped_after(self._prometheus, self._job, time.time()))
