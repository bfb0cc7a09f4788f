"""A streamed OpenAI chat answer timed on the client: first token, the gaps between tokens, and goodput.

The server sends server-sent events, ``data: {chunk}`` lines ending with ``data: [DONE]``. Each chunk whose
delta carries text is a token arrival (llama.cpp and vLLM stream one token per chunk); a last chunk with
``usage`` (``stream_options.include_usage``) gives the server's token counts, and without one the client
counts the text chunks.

Figures, as aiperf and guidellm define them: time to first token (TTFT) from the request's due time
(coordinated omission corrected, like every latency of a run) and from its send; inter-token latency (ITL),
every gap between two token arrivals; time per output token (TPOT), a request's time from its first token
to its last over its output tokens after the first; output tokens per second over the run. A request is
goodput when it succeeded and met every objective of ``--slo``.
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field

from hdrh.histogram import HdrHistogram

from observatory.loadgen.hdr import encode, new_histogram, record

# aiperf's and guidellm's percentiles, and seed 001's p95.
STREAM_PERCENTILES = (50.0, 90.0, 95.0, 99.0)
# The objectives ``--slo`` may set, in seconds.
OBJECTIVES = ("ttft", "tpot", "itl", "latency")


@dataclass
class StreamTiming:
    """When each token of one streamed answer arrived (perf_counter seconds) and the counts it reported."""

    token_at: list[float] = field(default_factory=list)
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str = ""
    error: str = ""

    @property
    def output_tokens(self) -> int:
        """The server's count of generated tokens, or the text chunks the client saw without one."""
        return self.completion_tokens if self.completion_tokens is not None else len(self.token_at)


class EventReader:
    """Feeds on the body's bytes as they arrive and times each event that carries text."""

    def __init__(self) -> None:
        self.timing = StreamTiming()
        self._pending = b""

    def feed(self, data: bytes) -> None:
        """Take the next piece of the body; complete lines are parsed at once, at their arrival time."""
        now = time.perf_counter()
        lines = (self._pending + data).split(b"\n")
        self._pending = lines.pop()
        for line in lines:
            self._line(line.strip(), now)

    def _line(self, line: bytes, now: float) -> None:
        if not line.startswith(b"data:"):
            return  # blank separators, comments and event names
        payload = line[5:].strip()
        if payload == b"[DONE]":
            return
        try:
            chunk = json.loads(payload)
        except ValueError:
            self.timing.error = "invalid JSON in an event"
            return
        if not isinstance(chunk, dict):
            self.timing.error = "an event that is no JSON object"
            return
        if "error" in chunk:
            self.timing.error = "error event"
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") or {}
            if delta.get("content"):
                self.timing.token_at.append(now)
            self.timing.finish_reason = choice.get("finish_reason") or self.timing.finish_reason
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            self.timing.prompt_tokens = usage.get("prompt_tokens")
            self.timing.completion_tokens = usage.get("completion_tokens")


def _percentiles(histogram: HdrHistogram, total_s: float) -> dict[str, float]:
    count = histogram.get_total_count()
    if count == 0:
        return {**{f"p{p:g}": 0.0 for p in STREAM_PERCENTILES}, "max": 0.0, "mean": 0.0}
    values = {f"p{p:g}": histogram.get_value_at_percentile(p) / 1000 for p in STREAM_PERCENTILES}
    return values | {"max": histogram.get_max_value() / 1000, "mean": total_s / count * 1000}


@dataclass(frozen=True)
class StreamedRequest:
    """One streamed request's figures, in seconds: TTFT from its due time and its send, TPOT, gaps, latency."""

    ttft: float
    ttft_uncorrected: float
    latency: float
    tpot: float | None
    gaps: tuple[float, ...]
    output_tokens: int
    prompt_tokens: int | None

    def meets(self, objectives: dict[str, float]) -> bool:
        """Whether every objective holds (an objective on TPOT or ITL holds for a one-token answer)."""
        measured = {"ttft": self.ttft, "tpot": self.tpot, "itl": max(self.gaps, default=None), "latency": self.latency}
        return all(measured[name] is None or measured[name] <= bound for name, bound in objectives.items())


def streamed(timing: StreamTiming, start: float, due_s: float, sent_s: float, done_s: float) -> StreamedRequest:
    """The figures of a request that got tokens; times are seconds from the run's start at perf_counter ``start``."""
    arrivals = [at - start for at in timing.token_at]
    tokens = timing.output_tokens
    gaps = tuple(later - earlier for earlier, later in itertools.pairwise(arrivals))
    # TPOT spreads the time after the first token over the tokens after it, as the server's histogram does.
    tpot = (arrivals[-1] - arrivals[0]) / (tokens - 1) if tokens > 1 else None
    return StreamedRequest(
        arrivals[0] - due_s, arrivals[0] - sent_s, done_s - due_s, tpot, gaps, tokens, timing.prompt_tokens
    )


@dataclass
class StreamStats:
    """The histograms and totals of a run's streamed requests."""

    objectives: dict[str, float] = field(default_factory=dict)
    ttft: HdrHistogram = field(default_factory=new_histogram)
    ttft_uncorrected: HdrHistogram = field(default_factory=new_histogram)
    itl: HdrHistogram = field(default_factory=new_histogram)
    tpot: HdrHistogram = field(default_factory=new_histogram)
    totals_s: dict[str, float] = field(default_factory=lambda: dict.fromkeys(("ttft", "ttft_u", "itl", "tpot"), 0.0))
    requests: int = 0
    good: int = 0
    output_tokens: int = 0
    prompt_tokens: int = 0

    def add(self, request: StreamedRequest) -> None:
        """Count one successful streamed request."""
        self.requests += 1
        self.good += request.meets(self.objectives)
        self.output_tokens += request.output_tokens
        self.prompt_tokens += request.prompt_tokens or 0
        for histogram, key, value in ((self.ttft, "ttft", request.ttft), (self.ttft_uncorrected, "ttft_u",
                                       request.ttft_uncorrected)):  # fmt: skip
            record(histogram, value)
            self.totals_s[key] += value
        if request.tpot is not None:
            record(self.tpot, request.tpot)
            self.totals_s["tpot"] += request.tpot
        for gap in request.gaps:
            record(self.itl, gap)
            self.totals_s["itl"] += gap

    def summary(self, elapsed_s: float) -> dict:
        """Percentiles in milliseconds, token totals and rates, and goodput against the objectives."""
        rate = (lambda n: n / elapsed_s) if elapsed_s > 0 else (lambda _: 0.0)
        return {
            "requests": self.requests,
            "ttft_ms": _percentiles(self.ttft, self.totals_s["ttft"]),
            "ttft_uncorrected_ms": _percentiles(self.ttft_uncorrected, self.totals_s["ttft_u"]),
            "inter_token_latency_ms": _percentiles(self.itl, self.totals_s["itl"]),
            "time_per_output_token_ms": _percentiles(self.tpot, self.totals_s["tpot"]),
            "output_tokens": self.output_tokens,
            "prompt_tokens": self.prompt_tokens,
            "output_tokens_per_second": rate(self.output_tokens),
            "objectives_ms": {name: bound * 1000 for name, bound in self.objectives.items()},
            "good_requests": self.good,
            "goodput_requests_per_second": rate(self.good),
            "attainment": self.good / self.requests if self.requests else 0.0,
        }

    def histograms(self) -> dict[str, str]:
        """Each histogram as an HdrHistogram V2 blob (microseconds)."""
        return {"ttft": encode(self.ttft), "ttft_uncorrected": encode(self.ttft_uncorrected),
                "inter_token_latency": encode(self.itl), "time_per_output_token": encode(self.tpot)}  # fmt: skip
