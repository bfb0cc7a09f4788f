"""The common shape of measured figures that ``compare`` reads, and a direction-aware reader for the rest.

A results file in the common shape has ``{"figures": {name: {"value", "unit", "better"}}}`` with
``better`` either ``"higher"`` or ``"lower"``. Load-test results and the bench suite write it. Other
JSON results (the exporter and runtime benchmarks) are read by walking their numbers and inferring each
one's direction from its name; a number whose direction cannot be told is shown but never gated.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

HIGHER, LOWER, UNKNOWN = "higher", "lower", "unknown"

# Name fragments, first match wins: rates before "seconds", since "per_second" contains it.
_DIRECTIONS = (
    ("per_second", HIGHER), ("qps", HIGHER), ("throughput", HIGHER), ("speedup", HIGHER), ("recall", HIGHER),
    ("to_in_process_ratio", HIGHER), ("to_direct_ratio", HIGHER), ("to_wrk_ratio", HIGHER),
    ("seconds", LOWER), ("latency", LOWER), ("_ms", LOWER), ("bytes", LOWER), ("cost", LOWER),
    ("error", LOWER), ("p50", LOWER), ("p95", LOWER), ("p99", LOWER),
)  # fmt: skip
# Parts of a results file that describe the run, not its performance.
_NOT_FIGURES = {"machine", "config", "all_rounds", "requests", "histograms", "targets"}


class ResultsError(ValueError):
    """A results file cannot be used; the message is one line."""


def read_json(path: Path) -> dict:
    """The JSON object in ``path``; a missing, unreadable or non-object file is a :class:`ResultsError`."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ResultsError(f"cannot read {path}: {error.strerror}") from error
    except (ValueError, UnicodeDecodeError) as error:
        raise ResultsError(f"{path} is not JSON: {error}") from error
    if not isinstance(document, dict):
        raise ResultsError(f"{path} holds no results object")
    return document


@dataclass(frozen=True)
class Figure:
    """One measured number and which way is better."""

    value: float
    unit: str = ""
    better: str = UNKNOWN

    def as_dict(self) -> dict:
        """The figure in the common shape."""
        return {"value": self.value, "unit": self.unit, "better": self.better}


def direction(name: str) -> str:
    """Which way is better for a figure named ``name`` (``unknown`` when the name does not say)."""
    lowered = name.lower()
    return next((better for fragment, better in _DIRECTIONS if fragment in lowered), UNKNOWN)


def load_test_figures(summary: dict) -> dict[str, Figure]:
    """The gated figures of a load test: achieved QPS, corrected latency percentiles, error rate, late sends."""
    latency = summary["latency_ms"]
    sent = max(summary["sent"], 1)
    figures = {
        "achieved_qps": Figure(summary["achieved_qps"], "req/s", HIGHER),
        "error_rate": Figure(summary["error_rate"], "ratio", LOWER),
        "sent_late_ratio": Figure(summary["sent_late"] / sent, "ratio", LOWER),
    }
    for key in ("p50", "p95", "p99", "max"):
        figures[f"latency_{key}_ms"] = Figure(latency[key], "ms", LOWER)
    for kind, row in summary["by_type"].items():
        figures[f"{kind}.latency_p99_ms"] = Figure(row["p99"], "ms", LOWER)
    return figures


def _walk(value: object, path: str) -> Iterator[tuple[str, float]]:
    if isinstance(value, bool):
        return
    if isinstance(value, int | float):
        yield path, float(value)
    elif isinstance(value, dict):
        # A spread (median, quartiles, extremes) is compared by its median: the rest is noise.
        if "median" in value and isinstance(value["median"], int | float):
            yield path, float(value["median"])
            return
        for key, item in value.items():
            if key not in _NOT_FIGURES:
                yield from _walk(item, f"{path}.{key}" if path else str(key))


def read_figures(document: dict) -> dict[str, Figure]:
    """The figures of a results file: its common-shape ``figures``, else every number with an inferred direction."""
    if isinstance(document.get("figures"), dict):
        return {
            name: Figure(float(item["value"]), item.get("unit", ""), item.get("better", UNKNOWN))
            for name, item in document["figures"].items()
        }
    return {name: Figure(value, "", direction(name)) for name, value in _walk(document, "")}
