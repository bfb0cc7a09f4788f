"""Whether what a client lived through is what Prometheus computes from the shard's series over the same time.

Counts must be equal: the requests a client saw succeed against the rise of the success counter, and the
``usage`` token totals of its answers against the prompt and generated token counters. Latencies are
compared per percentile: Prometheus can only place a quantile inside the histogram bucket that holds it, so
the client's value agrees when it lies in the bucket that holds the server's quantile. Both sides take the
same request for a quantile: ``histogram_quantile`` reads the bucket where the cumulative count reaches
q × n, so the client's value is its ⌈q × n⌉-th smallest (a client's own percentile, interpolated or
rounded to a neighbouring rank, can be another request when n is small). The client measures from its send
to its receipt and the server from arrival to its write, so the client's value may only be later; the
comparison allows no more than that (see :func:`agrees`).

Every server figure is computed by Prometheus from the counters at the window's two ends (``@`` modifier):
no ``rate`` or ``increase`` extrapolation enters an equality.
"""

from __future__ import annotations

import json
import math
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

from observatory.catalogue import CATALOGUE

# Client figure -> the shard histogram that records the same thing per request.
HISTOGRAMS = {
    "time_to_first_token": "themis_inference_time_to_first_token_seconds",
    "inter_token_latency": "themis_inference_time_per_output_token_seconds",
    "request_latency": "themis_inference_latency_seconds",
}
COUNTERS = {
    "requests": 'themis_inference_requests_total{status="success"}',
    "prompt_tokens": "themis_prompt_tokens_total",
    "generated_tokens": "themis_generated_tokens_total",
}
QUANTILES = {"p50": 0.5, "p90": 0.9, "p99": 0.99}

# An instant query at a time (Unix seconds): the ``value`` of each series of the result.
Query = Callable[[str, float], list[float]]


@dataclass(frozen=True)
class Window:
    """The interval a client ran in, in Unix seconds; Prometheus has scraped the shard at neither end's side."""

    start: float
    end: float


def prometheus_query(base_url: str) -> Query:
    """Instant queries against the Prometheus at ``base_url``; a failed query raises ``RuntimeError``."""

    def query(expr: str, at: float) -> list[float]:
        params = urllib.parse.urlencode({"query": expr, "time": f"{at:.3f}"})
        try:
            with urllib.request.urlopen(f"{base_url}/api/v1/query?{params}", timeout=30) as response:
                body = json.load(response)
        except (OSError, ValueError) as error:
            raise RuntimeError(f"Prometheus query {expr!r} failed: {error}") from error
        if body.get("status") != "success":
            raise RuntimeError(f"Prometheus query {expr!r}: {body.get('error')}")
        return [float(sample["value"][1]) for sample in body["data"]["result"]]

    return query


def scraped_after(query: Query, job: str, after: float, timeout_s: float = 30.0) -> float:
    """The time of the first scrape of ``job`` at or after ``after`` (Unix seconds), once Prometheus has it."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        stamps = query(f'timestamp(up{{job="{job}"}})', time.time())
        if stamps and stamps[0] >= after:
            return stamps[0]
        time.sleep(0.2)
    raise RuntimeError(f"Prometheus did not scrape {job} after {after:.3f} within {timeout_s:g} s")


class ClientWindow:
    """``with ClientWindow(query, job) as w:`` around a client's run; ``w.window`` then spans it.

    Both ends are scrapes: the first after entering (before any of the client's traffic), the first after
    leaving (after all of it).
    """

    def __init__(self, query: Query, job: str) -> None:
        self._query, self._job = query, job
        self.window: Window | None = None

    def __enter__(self) -> ClientWindow:
        self._start = scraped_after(self._query, self._job, time.time())
        return self

    def __exit__(self, *_: object) -> None:
        self.window = Window(self._start, scraped_after(self._query, self._job, time.time()))


@dataclass(frozen=True)
class Row:
    """One compared figure: the client's value, the server's, the bucket the server's lies in, and the verdict."""

    figure: str
    client: float
    server: float
    bucket: tuple[float, float] | None
    agrees: bool


def _with(selector: str, series: str) -> str:
    """``series`` with the matchers of ``selector`` added (``name{a="b"}`` or ``name``)."""
    if not selector:
        return series
    if series.endswith("}"):
        return f"{series[:-1]}, {selector}}}"
    return f"{series}{{{selector}}}"


def _delta(series: str, window: Window, by: str = "") -> str:
    """The rise of the sum of ``series`` (``by`` labels kept) over the window, from its values at the two ends."""
    return " - ".join(f"sum{by} ({series} @ {at:.3f})" for at in (window.end, window.start))


def bucket_of(value: float, bounds: Sequence[float]) -> tuple[float, float]:
    """The histogram bucket ``(lower, upper]`` that holds ``value`` (the last one is open to infinity)."""
    lower = 0.0
    for upper in bounds:
        if value <= upper:
            return lower, upper
        lower = upper
    return lower, math.inf


def agrees(client: float, server: float, bounds: Sequence[float]) -> bool:
    """Whether a client's quantile is the server's within the bucket that holds the server's.

    A client sees every answer after the server wrote it, so its value lies in the server's bucket or, for
    an answer the server finished just below a bound, in the next one up to at most the server's own bucket
    width beyond it: the bound derived from the buckets. It is never below the server's bucket.
    """
    lower, upper = bucket_of(server, bounds)
    return lower <= client and (client <= upper or client <= upper + (upper - lower))


def compare_counts(query: Query, window: Window, selector: str, client: dict[str, float]) -> list[Row]:
    """Each count of ``client`` (keys of :data:`COUNTERS`) against the counter's rise over ``window``."""
    rows = []
    for figure, value in client.items():
        (server,) = query(_delta(_with(selector, COUNTERS[figure]), window), window.end) or (math.nan,)
        rows.append(Row(figure, value, server, None, value == server))
    return rows


def ranked(values: Sequence[float], quantile: float) -> float:
    """The observation ``histogram_quantile`` locates for ``quantile``: the ⌈quantile × n⌉-th smallest."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(quantile * len(ordered)) - 1)]


def compare_latencies(
    query: Query, window: Window, selector: str, client: dict[str, Sequence[float]], routed: bool = False
) -> list[Row]:
    """Each client latency (per-request seconds, by figure) at p50, p90 and p99 against Prometheus' quantile.

    ``routed``: the client went through the orchestrator, whose hop the shard's buckets cannot bound; its
    value must then only never lie below the bucket of the shard's quantile.
    """
    rows = []
    for figure, values in client.items():
        metric = CATALOGUE[HISTOGRAMS[figure]]
        buckets = _delta(_with(selector, metric.name + "_bucket"), window, " by (le)")
        for name, quantile in QUANTILES.items():
            value = ranked(values, quantile)
            expr = f"histogram_quantile({quantile}, {buckets})"
            (server,) = query(expr, window.end) or (math.nan,)
            bucket = bucket_of(server, metric.buckets) if math.isfinite(server) else None
            if bucket is None:
                verdict = False
            else:
                verdict = bucket[0] <= value if routed else agrees(value, server, metric.buckets)
            rows.append(Row(f"{figure} {name}", value, server, bucket, verdict))
    return rows


def table(title: str, rows: list[Row]) -> str:
    """The rows as a Markdown table (latencies in milliseconds, counts as they are)."""
    header = "| figure | client | Prometheus | server's bucket | agrees |"
    lines = [f"### {title}", "", header, "|---|---:|---:|---|---|"]
    for row in rows:
        scale, unit = (1000, " ms") if row.bucket is not None or " p" in row.figure else (1, "")
        bucket = f"({row.bucket[0] * 1000:g}, {row.bucket[1] * 1000:g}] ms" if row.bucket else "equal"
        lines.append(f"| {row.figure} | {row.client * scale:,.2f}{unit} | {row.server * scale:,.2f}{unit} | {bucket}"
                     f" | {'yes' if row.agrees else 'NO'} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def as_dicts(rows: list[Row]) -> list[dict]:
    """The rows as JSON-ready dictionaries."""
    return [asdict(row) for row in rows]
