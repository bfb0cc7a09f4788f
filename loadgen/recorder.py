"""What a run measured: every request, HDR histograms of its latencies, and the summary derived from them.

Latency is kept twice, as wrk2 does: *corrected*, from the time the request was due to be sent
(a stalled server delays every request queued behind it, and that delay counts), and
*uncorrected*, from the time it was actually sent (what a closed-loop client would report).
Only successful requests enter the latency histograms, so a server that fails fast does not look
fast; failures are counted on their own.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from hdrh.histogram import HdrHistogram

from observatory.loadgen.hdr import encode, new_histogram
from observatory.loadgen.hdr import record as _record
from observatory.loadgen.streaming import StreamedRequest, StreamStats

PERCENTILES = (50.0, 95.0, 99.0)


def latency_summary(histogram: HdrHistogram, total_s: float) -> dict[str, float]:
    """p50, p95, p99 and max in milliseconds from the histogram, and the mean of its ``total_s`` seconds.

    The mean comes from the exact total rather than ``get_mean_value``, which walks every bucket in
    Python: profiled, that walk took a third of a 5-second run's CPU, all of it after the run.
    """
    count = histogram.get_total_count()
    if count == 0:
        return {"p50": 0.0, "p95": 0.0, "p99": 0.0, "max": 0.0, "mean": 0.0}
    summary = {f"p{p:g}": histogram.get_value_at_percentile(p) / 1000 for p in PERCENTILES}
    return summary | {"max": histogram.get_max_value() / 1000, "mean": total_s / count * 1000}


@dataclass
class Outcome:
    """One request: when it was due and sent (seconds from the start), when it ended, its type and status.

    ``status`` is the HTTP status, or 0 when no response came (``error`` says why).
    """

    due_s: float
    sent_s: float
    done_s: float
    kind: str
    status: int
    error: str = ""
    # A streamed answer's token timings; None for any other request.
    stream: StreamedRequest | None = None

    @property
    def ok(self) -> bool:
        """Whether the request succeeded: a 2xx or 3xx answer and no error (a polled task that failed has one)."""
        return 200 <= self.status < 400 and not self.error


@dataclass
class Recorder:
    """Collects outcomes during a run; ``late_after_s`` is how late a send may start and still be on time.

    The hot path only appends: histograms are filled once the run is over (by :meth:`finish`), so
    recording costs the client nothing while it is sending.
    """

    late_after_s: float
    # Goodput objectives of streamed requests in seconds, by name (ttft, tpot, itl, latency).
    objectives: dict[str, float] = field(default_factory=dict)
    outcomes: list[Outcome] = field(default_factory=list)
    unsent: int = 0
    failures: int = 0
    corrected: HdrHistogram = field(default_factory=new_histogram)
    uncorrected: HdrHistogram = field(default_factory=new_histogram)
    by_kind: dict[str, HdrHistogram] = field(default_factory=dict)
    # Seconds of latency recorded into each histogram, for exact means: "corrected", "uncorrected", kinds.
    totals_s: Counter[str] = field(default_factory=Counter)
    streams: StreamStats = field(default_factory=StreamStats)

    def add(self, outcome: Outcome) -> None:
        """Record one finished request."""
        self.outcomes.append(outcome)
        if not outcome.ok:
            self.failures += 1

    def finish(self) -> None:
        """Fill the histograms from every successful request."""
        self.streams = StreamStats(self.objectives)
        for outcome in self.outcomes:
            if outcome.ok and outcome.stream is not None:
                self.streams.add(outcome.stream)
            if outcome.ok:
                corrected, uncorrected = outcome.done_s - outcome.due_s, outcome.done_s - outcome.sent_s
                _record(self.corrected, corrected)
                _record(self.uncorrected, uncorrected)
                if outcome.kind not in self.by_kind:
                    self.by_kind[outcome.kind] = new_histogram()
                _record(self.by_kind[outcome.kind], corrected)
                totals = {"corrected": corrected, "uncorrected": uncorrected, f"kind:{outcome.kind}": corrected}
                self.totals_s.update(totals)

    @property
    def late(self) -> int:
        """Requests sent more than ``late_after_s`` after their due time."""
        return sum(outcome.sent_s - outcome.due_s > self.late_after_s for outcome in self.outcomes)

    def summary(self, elapsed_s: float) -> dict:
        """Seed 001's summary: totals, achieved QPS, latency percentiles, error rate, late and unsent sends."""
        sent = len(self.outcomes)
        late = self.late
        kinds = Counter(outcome.kind for outcome in self.outcomes)
        failed = Counter(outcome.kind for outcome in self.outcomes if not outcome.ok)
        statuses = Counter(str(outcome.status) for outcome in self.outcomes)
        return {
            "total_requests": sent + self.unsent,
            "sent": sent,
            "successful": sent - self.failures,
            "failed": self.failures,
            "sent_late": late,
            "unsent": self.unsent,
            "elapsed_s": elapsed_s,
            "achieved_qps": sent / elapsed_s if elapsed_s > 0 else 0.0,
            "successful_qps": (sent - self.failures) / elapsed_s if elapsed_s > 0 else 0.0,
            "error_rate": self.failures / sent if sent else 0.0,
            "statuses": dict(sorted(statuses.items())),
            "latency_ms": latency_summary(self.corrected, self.totals_s["corrected"]),
            "uncorrected_latency_ms": latency_summary(self.uncorrected, self.totals_s["uncorrected"]),
            "by_type": {
                kind: {"requests": kinds[kind], "failed": failed[kind]}
                | latency_summary(self.by_kind.get(kind, new_histogram()), self.totals_s[f"kind:{kind}"])
                for kind in sorted(kinds)
            },
        } | ({"streaming": self.streams.summary(elapsed_s)} if self.streams.requests else {})

    def histograms(self) -> dict:
        """Every histogram as an HdrHistogram V2 blob."""
        return {
            "unit": "microseconds",
            "corrected": encode(self.corrected),
            "uncorrected": encode(self.uncorrected),
            "by_type": {kind: encode(histogram) for kind, histogram in sorted(self.by_kind.items())},
        } | ({"streaming": self.streams.histograms()} if self.streams.requests else {})

    def requests(self) -> list[dict]:
        """Every request as a JSON record (times in seconds from the start, latencies in milliseconds)."""
        return [
            {
                "scheduled_s": round(o.due_s, 6),
                "type": o.kind,
                "status": o.status,
                "latency_ms": round((o.done_s - o.due_s) * 1000, 3),
                "uncorrected_ms": round((o.done_s - o.sent_s) * 1000, 3),
            }
            | ({"error": o.error} if o.error else {})
            | (_stream_record(o.stream) if o.stream else {})
            for o in self.outcomes
        ]


def _stream_record(stream: StreamedRequest) -> dict:
    """A streamed request's own figures in its JSON record (milliseconds)."""
    tpot = None if stream.tpot is None else round(stream.tpot * 1000, 3)
    return {"ttft_ms": round(stream.ttft * 1000, 3), "ttft_uncorrected_ms": round(stream.ttft_uncorrected * 1000, 3),
            "tpot_ms": tpot, "output_tokens": stream.output_tokens}  # fmt: skip
