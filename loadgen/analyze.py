"""``observatory-loadgen analyze``: seed 001's plots and Markdown report from a run's results JSON."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display is needed or wanted
import matplotlib.pyplot as plt
import numpy as np

from observatory.loadgen.figures import ResultsError, read_json
from observatory.loadgen.hdr import decode
from observatory.loadgen.run import FORMAT
from observatory.loadgen.targets import SEED_001

PLOTS = ("latency_histogram", "latency_cdf", "latency_over_time", "latency_by_type", "qps_over_time",
         "error_rate_over_time")  # fmt: skip
QUANTILES = ("p50", "p95", "p99", "max")
# Drawn when the run streamed answers (the openai profile).
STREAM_PLOTS = ("ttft_distribution", "inter_token_distribution")


class Requests:
    """The per-request records of a run as columns."""

    def __init__(self, records: list[dict]) -> None:
        self.due = np.array([r["scheduled_s"] for r in records], dtype=float)
        self.latency = np.array([r["latency_ms"] for r in records], dtype=float)
        self.uncorrected = np.array([r["uncorrected_ms"] for r in records], dtype=float)
        self.kind = np.array([r["type"] for r in records])
        self.failed = np.array([not (200 <= r["status"] < 400) or "error" in r for r in records], dtype=bool)
        self.done = self.due + self.latency / 1000
        self.ttft = np.array([r.get("ttft_ms", np.nan) for r in records], dtype=float)

    def per_second(self, times: np.ndarray, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Counts (or sums of ``weights``) per whole second of ``times``."""
        edges = np.arange(0, np.ceil(max(times.max(initial=0), self.done.max(initial=0))) + 2)
        counts, _ = np.histogram(times, bins=edges, weights=weights)
        return edges[:-1], counts


def load(path: Path) -> dict:
    """A results file written by ``observatory-loadgen run``."""
    document = read_json(path)
    if document.get("format") != FORMAT:
        raise ResultsError(f"{path} is not a results file of observatory-loadgen run")
    if not document.get("requests"):
        raise ResultsError(f"{path} records no requests")
    return document


def _ok(requests: Requests) -> tuple[np.ndarray, np.ndarray]:
    keep = ~requests.failed
    return requests.latency[keep], requests.uncorrected[keep]


def _percentile_lines(ax: plt.Axes, figures: dict, keys: tuple[str, ...], linestyle: str) -> None:
    """A vertical line, in green, orange and red, at each of the percentiles ``keys`` of ``figures`` (ms)."""
    for key, colour in zip(keys, ("green", "orange", "red"), strict=True):
        value = figures[key]
        ax.axvline(value, color=colour, linestyle=linestyle, label=f"{key} {value:.2f} ms")


def latency_histogram(ax: plt.Axes, requests: Requests, summary: dict) -> None:
    latency, _ = _ok(requests)
    ax.hist(latency, bins=60, color="tab:blue", alpha=0.8)
    _percentile_lines(ax, summary["latency_ms"], ("p50", "p95", "p99"), "--")
    ax.set(title="Latency distribution (corrected)", xlabel="latency (ms)", ylabel="requests")
    ax.legend()


def latency_cdf(ax: plt.Axes, requests: Requests, _: dict) -> None:
    for values, label in zip(_ok(requests), ("corrected (from due time)", "uncorrected (from send)"), strict=True):
        ordered = np.sort(values)
        ax.plot(ordered, np.arange(1, len(ordered) + 1) / max(len(ordered), 1), label=label)
    ax.set_xscale("symlog", linthresh=1.0)
    ax.set(title="Latency CDF", xlabel="latency (ms)", ylabel="fraction of requests", ylim=(0, 1.01))
    ax.grid(True, alpha=0.3)
    ax.legend()


def latency_over_time(ax: plt.Axes, requests: Requests, _: dict) -> None:
    keep = ~requests.failed
    ax.scatter(requests.due[keep], requests.latency[keep], s=2, label="corrected", alpha=0.5)
    ax.scatter(requests.due[keep], requests.uncorrected[keep], s=2, label="uncorrected", alpha=0.5)
    ax.set(title="Latency over time", xlabel="due time (s)", ylabel="latency (ms)")
    ax.legend(markerscale=5)


def latency_by_type(ax: plt.Axes, requests: Requests, _: dict) -> None:
    keep = ~requests.failed
    kinds = sorted(set(requests.kind[keep].tolist()))
    ax.boxplot([requests.latency[keep & (requests.kind == kind)] for kind in kinds], showfliers=False)
    ax.set_xticks(range(1, len(kinds) + 1), kinds)
    ax.set(title="Latency by request type (corrected, no outliers)", ylabel="latency (ms)")


def qps_over_time(ax: plt.Axes, requests: Requests, _: dict) -> None:
    seconds, planned = requests.per_second(requests.due)
    _, answered = requests.per_second(requests.done)
    ax.step(seconds, planned, where="post", label="planned")
    ax.step(seconds, answered, where="post", label="answered")
    ax.set(title="Requests per second", xlabel="time (s)", ylabel="requests/s")
    ax.legend()


def error_rate_over_time(ax: plt.Axes, requests: Requests, _: dict) -> None:
    seconds, answered = requests.per_second(requests.done)
    _, failed = requests.per_second(requests.done, requests.failed.astype(float))
    rate = np.divide(failed, answered, out=np.zeros_like(failed, dtype=float), where=answered > 0) * 100
    ax.step(seconds, rate, where="post", color="tab:red")
    ax.set(title="Error rate", xlabel="time (s)", ylabel="errors (%)", ylim=(0, max(5.0, rate.max() * 1.1)))


def _cdf_from_histogram(blob: str) -> tuple[np.ndarray, np.ndarray]:
    """Milliseconds and the share of observations at or below them, read from an HDR histogram blob."""
    histogram = decode(blob)
    shares = np.linspace(0, 100, 201)
    values = np.array([histogram.get_value_at_percentile(p) for p in shares]) / 1000
    return values, shares / 100


def ttft_distribution(ax: plt.Axes, requests: Requests, summary: dict) -> None:
    streaming = summary["streaming"]
    keep = ~requests.failed & ~np.isnan(requests.ttft)
    ax.hist(requests.ttft[keep], bins=60, color="tab:purple", alpha=0.8)
    objective = streaming["objectives_ms"].get("ttft")
    if objective is not None:
        share = streaming["attainment"] * 100
        ax.axvline(objective, color="red", linestyle="--", label=f"objective {objective:g} ms ({share:.0f} % goodput)")
    _percentile_lines(ax, streaming["ttft_ms"], ("p50", "p90", "p99"), ":")
    ax.set(title="Time to first token (from the due time)", xlabel="TTFT (ms)", ylabel="requests")
    ax.legend()


def inter_token_distribution(ax: plt.Axes, _: Requests, summary: dict) -> None:
    histograms = summary["_histograms"]
    for key, label in (("inter_token_latency", "every gap between two tokens"),
                       ("time_per_output_token", "per request (TPOT)")):  # fmt: skip
        values, shares = _cdf_from_histogram(histograms[key])
        ax.plot(values, shares, label=label)
    ax.set_xscale("symlog", linthresh=1.0)
    ax.set(title="Inter-token latency CDF", xlabel="time between tokens (ms)", ylabel="fraction", ylim=(0, 1.01))
    ax.grid(True, alpha=0.3)
    ax.legend()


DRAWERS: dict[str, Callable[[plt.Axes, Requests, dict], None]] = {
    "ttft_distribution": ttft_distribution,
    "inter_token_distribution": inter_token_distribution,
    "latency_histogram": latency_histogram,
    "latency_cdf": latency_cdf,
    "latency_over_time": latency_over_time,
    "latency_by_type": latency_by_type,
    "qps_over_time": qps_over_time,
    "error_rate_over_time": error_rate_over_time,
}


def plot_all(requests: Requests, summary: dict, out: Path) -> list[Path]:
    """Write every plot as a PNG under ``out``."""
    written = []
    for name in (*PLOTS, *(STREAM_PLOTS if "streaming" in summary else ())):
        figure, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
        DRAWERS[name](ax, requests, summary)
        figure.tight_layout()
        path = out / f"{name}.png"
        figure.savefig(path)
        plt.close(figure)
        written.append(path)
    return written


def _validation_rows(document: dict) -> list[str]:
    summary, targets = document["summary"], document.get("targets") or {}
    measured = {"p99 latency": summary["latency_ms"]["p99"], "sustained QPS": summary["achieved_qps"],
                "error rate": summary["error_rate"] * 100}  # fmt: skip
    given = {"p99 latency": targets.get("p99_under_ms"), "sustained QPS": targets.get("qps_at_least"),
             "error rate": targets.get("error_rate_under_percent")}  # fmt: skip
    rows = []
    for metric, seed in SEED_001.items():
        value, at_least = measured[metric], metric == "sustained QPS"
        sign = "≥" if at_least else "<"

        def meets(limit: float, value: float = value, at_least: bool = at_least) -> str:
            return "✓" if (value >= limit if at_least else value < limit) else "✗"

        target = given[metric]
        run = f"{sign} {target:g} {meets(target)}" if target is not None else "not set"
        tiers = " | ".join(f"{sign} {seed[tier]:g} {meets(seed[tier])}" for tier in ("target", "stretch", "must_pass"))
        rows.append(f"| {metric} | {value:,.2f} {seed['unit']} | {run} | {tiers} |")
    return rows


def _streaming_rows(summary: dict) -> list[str]:
    """The streamed answers' table: TTFT, inter-token latency, TPOT, token rate and goodput."""
    streaming = summary.get("streaming")
    if streaming is None:
        return []
    rows = (("time to first token (from the due time)", "ttft_ms"), ("time to first token (from the send)",
            "ttft_uncorrected_ms"), ("inter-token latency", "inter_token_latency_ms"),
            ("time per output token", "time_per_output_token_ms"))  # fmt: skip
    objectives = ", ".join(f"{name} ≤ {bound:g} ms" for name, bound in streaming["objectives_ms"].items())
    goodput = (f"Goodput: {streaming['goodput_requests_per_second']:,.2f} req/s, {streaming['attainment'] * 100:.1f} %"
               f" of requests within {objectives}." if objectives else "No goodput objectives (--slo) were set.")
    return [
        "| streamed answers (ms) | p50 | p90 | p99 | max |",
        "|---|---:|---:|---:|---:|",
        *(f"| {label} | " + " | ".join(f"{streaming[key][p]:.2f}" for p in ("p50", "p90", "p99", "max")) + " |"
          for label, key in rows),
        "",
        f"{streaming['output_tokens']:,} output tokens, {streaming['output_tokens_per_second']:,.1f} tokens/s."
        f" {goodput}",
        "",
    ]  # fmt: skip


def report(document: dict, plots: list[Path]) -> str:
    """The Markdown report: configuration, summary, seed 001's target validation table and the plots."""
    summary, config = document["summary"], document["config"]
    latency, raw = summary["latency_ms"], summary["uncorrected_latency_ms"]
    lines = [
        "# Load test report",
        "",
        f"Target `{config['target']}` ({config['target_kind']}), profile `{config['profile']}`, "
        f"{config['qps']:g} req/s for {config['duration_s']:g} s, {config['workers']} workers; "
        f"started {document['started_at']} on {document['machine']['platform']} "
        f"({document['machine']['cpus']} CPUs).",
        "",
        "## Summary",
        "",
        "| total | successful | failed | sent late | unsent | achieved QPS | error rate |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        f"| {summary['total_requests']:,} | {summary['successful']:,} | {summary['failed']:,} | "
        f"{summary['sent_late']:,} | {summary['unsent']:,} | {summary['achieved_qps']:,.1f} | "
        f"{summary['error_rate'] * 100:.2f} % |",
        "",
        "| latency (ms) | p50 | p95 | p99 | max |",
        "|---|---:|---:|---:|---:|",
        "| corrected (from the due time) | " + " | ".join(f"{latency[k]:.2f}" for k in QUANTILES) + " |",
        "| uncorrected (from the send) | " + " | ".join(f"{raw[k]:.2f}" for k in QUANTILES) + " |",
        "",
        "| request type | requests | failed | p50 | p95 | p99 | max |",
        "|---|---:|---:|---:|---:|---:|---:|",
        *(f"| {kind} | {row['requests']:,} | {row['failed']:,} | {row['p50']:.2f} | {row['p95']:.2f} | "
          f"{row['p99']:.2f} | {row['max']:.2f} |" for kind, row in summary["by_type"].items()),
        "",
        *_streaming_rows(summary),
        "## Target validation",
        "",
        "Measured against the run's own targets and, for reference, seed 001's targets (set for 100 GPUs).",
        "",
        "| metric | measured | run target | seed 001 target | stretch | must-pass |",
        "|---|---:|---|---|---|---|",
        *_validation_rows(document),
        "",
        "## Plots",
        "",
        *(f"![{path.stem.replace('_', ' ')}]({path.name})" for path in plots),
    ]  # fmt: skip
    return "\n".join(lines) + "\n"


def analyze(results: Path, out: Path) -> list[Path]:
    """Write every plot and ``report.md`` under ``out``; returns what was written."""
    document = load(results)
    out.mkdir(parents=True, exist_ok=True)
    summary = document["summary"]
    if "streaming" in summary:
        summary = summary | {"_histograms": document["histograms"]["streaming"]}
    plots = plot_all(Requests(document["requests"]), summary, out)
    report_path = out / "report.md"
    report_path.write_text(report(document, plots), encoding="utf-8")
    return [*plots, report_path]
