"""Seed 001's target validation: p99 latency, sustained QPS and error rate against the targets of a run."""

from __future__ import annotations

from dataclasses import asdict, dataclass

# Seed 001's table (100 T4 GPUs): target, stretch and must-pass per metric; shown for reference.
SEED_001 = {
    "p99 latency": {"unit": "ms", "target": 10.0, "stretch": 8.7, "must_pass": 15.0},
    "sustained QPS": {"unit": "req/s", "target": 7000.0, "stretch": 10000.0, "must_pass": 5000.0},
    "error rate": {"unit": "%", "target": 1.0, "stretch": 0.1, "must_pass": 2.0},
}


@dataclass(frozen=True)
class Targets:
    """Limits a run must meet; ``None`` is no limit. Latency is the corrected one, error rate a percentage."""

    p50_under_ms: float | None = None
    p95_under_ms: float | None = None
    p99_under_ms: float | None = None
    qps_at_least: float | None = None
    error_rate_under_percent: float | None = None

    def as_dict(self) -> dict:
        """The targets as JSON."""
        return asdict(self)


@dataclass(frozen=True)
class Check:
    """One metric against its target: latencies and error rate must stay under, QPS at or above."""

    metric: str
    measured: float
    target: float
    unit: str
    at_least: bool

    @property
    def passed(self) -> bool:
        """Whether the measured value meets the target."""
        return self.measured >= self.target if self.at_least else self.measured < self.target

    def line(self) -> str:
        """``✓ p99 latency: 8.92ms (target: <10ms)``."""
        sign = "≥" if self.at_least else "<"
        mark = "✓" if self.passed else "✗"
        return f"{mark} {self.metric}: {self.measured:,.2f}{self.unit} (target: {sign}{self.target:g}{self.unit})"


def checks(targets: Targets, summary: dict) -> list[Check]:
    """Every target that was set, checked against a run's summary."""
    latency = summary["latency_ms"]
    candidates = [
        ("p50 latency", targets.p50_under_ms, latency["p50"], "ms", False),
        ("p95 latency", targets.p95_under_ms, latency["p95"], "ms", False),
        ("p99 latency", targets.p99_under_ms, latency["p99"], "ms", False),
        ("sustained QPS", targets.qps_at_least, summary["achieved_qps"], " req/s", True),
        ("error rate", targets.error_rate_under_percent, summary["error_rate"] * 100, "%", False),
    ]
    return [Check(name, measured, target, unit, at_least) for name, target, measured, unit, at_least in candidates
            if target is not None]  # fmt: skip


def summary_text(summary: dict, results: list[Check]) -> str:
    """Seed 001's printed summary: totals, achieved QPS, latency distribution and target validation."""
    latency, raw = summary["latency_ms"], summary["uncorrected_latency_ms"]
    lines = [
        "=== Load Test Results ===",
        f"Total Requests:     {summary['total_requests']:,}",
        f"Successful:         {summary['successful']:,}",
        f"Failed:             {summary['failed']:,}  (error rate {summary['error_rate'] * 100:.2f}%)",
        f"Sent late:          {summary['sent_late']:,}  (sent over the lateness threshold after the due time)",
        f"Unsent:             {summary['unsent']:,}  (still queued when the run ended)",
        f"Actual QPS:         {summary['achieved_qps']:,.1f}",
        "",
        "Latency Distribution (from the due time; uncorrected from the actual send):",
        *(f"  {key}: {latency[key]:>10.2f}ms  {raw[key]:>10.2f}ms" for key in ("p50", "p95", "p99", "max")),
    ]
    for kind, row in summary["by_type"].items():
        lines.append(f"  {kind}: {row['requests']:,} requests, {row['failed']:,} failed, p99 {row['p99']:.2f}ms")
    if "streaming" in summary:
        lines += _streaming_lines(summary["streaming"])
    if results:
        lines += ["", "=== Target Validation ===", *(check.line() for check in results), ""]
        failed = sum(not check.passed for check in results)
        lines.append("ALL TARGETS MET" if not failed else f"{failed} TARGET(S) MISSED")
    return "\n".join(lines) + "\n"


def _streaming_lines(streaming: dict) -> list[str]:
    """The streamed answers' figures: TTFT, inter-token latency, TPOT, token rate and goodput."""
    rows = (("TTFT", "ttft_ms"), ("TTFT uncorrected", "ttft_uncorrected_ms"), ("inter-token", "inter_token_latency_ms"),
            ("per output token", "time_per_output_token_ms"))  # fmt: skip
    lines = ["", "Streamed answers (ms):         p50        p90        p99        max"]
    for label, key in rows:
        row = streaming[key]
        lines.append(f"  {label:<22}" + "".join(f"{row[p]:>11.2f}" for p in ("p50", "p90", "p99", "max")))
    lines.append(f"Output tokens/s:    {streaming['output_tokens_per_second']:,.1f}")
    if streaming["objectives_ms"]:
        bounds = ", ".join(f"{name} <= {bound:g}ms" for name, bound in streaming["objectives_ms"].items())
        lines.append(f"Goodput:            {streaming['goodput_requests_per_second']:,.2f} req/s, "
                     f"{streaming['attainment'] * 100:.1f}% of requests within {bounds}")  # fmt: skip
    return lines
