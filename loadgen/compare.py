"""``observatory-loadgen compare``: per-figure deltas between a baseline and a current result, and the gate.

A figure regresses when it moved the wrong way by more than the tolerance: a lower-is-better figure
rose, a higher-is-better one fell. Relative change is measured against the baseline; where the
baseline is 0 the change is the absolute difference (an error rate going from 0 to 0.2 is a 0.2
change). A figure the baseline has and the current result lacks fails the gate too: a benchmark that
stopped running must not pass silently. Figures whose direction is unknown are shown, never gated.

Two kinds of figure get their own tolerance. A *relative* figure (a ratio of two rates measured side
by side in one run, a speedup, a recall) keeps its value when the whole machine slows down: both of its
sides share the load. An *absolute* figure (a rate, a latency) moves with whatever else the machine
runs; on a shared two-core machine the same build measures 30-50 % apart between runs. So the gate
takes a tight tolerance for relative figures and may take a wider one for absolute figures
(``--absolute-tolerance``; by default the same), which keeps a 10 % gate meaningful without flagging
noise, while an absolute figure that collapses still fails.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from observatory.loadgen.figures import HIGHER, LOWER, Figure, ResultsError, read_figures, read_json

_RELATIVE_WORDS = frozenset({"ratio", "speedup", "recall"})
# Words of a figure's name: "probes_under_saturation" holds the letters of "ratio" but not the word.
_WORD = re.compile(r"[a-z0-9]+")


def is_relative(name: str, figure: Figure) -> bool:
    """Whether a figure is measured against another of the same run (or is a property like recall)."""
    return figure.unit == "ratio" or not _RELATIVE_WORDS.isdisjoint(_WORD.findall(name.lower()))


@dataclass(frozen=True)
class Delta:
    """One figure in both results."""

    name: str
    baseline: Figure | None
    current: Figure | None
    tolerance: float

    @property
    def change(self) -> float | None:
        """Relative change from the baseline (absolute where the baseline is 0); ``None`` if either is missing."""
        if self.baseline is None or self.current is None:
            return None
        if self.baseline.value == 0:
            return self.current.value
        return (self.current.value - self.baseline.value) / abs(self.baseline.value)

    @property
    def verdict(self) -> str:
        """``regression``, ``improved``, ``ok``, ``missing`` (gone from the current result), ``new`` or ``ungated``."""
        if self.current is None:
            return "missing"
        if self.baseline is None:
            return "new"
        better = self.baseline.better
        change = self.change
        assert change is not None
        if better not in (HIGHER, LOWER):
            return "ungated"
        worse = change if better == LOWER else -change
        if worse > self.tolerance:
            return "regression"
        return "improved" if -worse > self.tolerance else "ok"

    @property
    def failed(self) -> bool:
        """Whether this figure fails the gate."""
        return self.verdict in ("regression", "missing")


def load(path: Path) -> dict[str, Figure]:
    """The figures of a results file; a missing or malformed file is a :class:`ResultsError`."""
    document = read_json(path)
    try:
        figures = read_figures(document)
    except (KeyError, TypeError, ValueError) as error:
        raise ResultsError(f"{path}: a figure lacks a numeric value ({error})") from error
    if not figures:
        raise ResultsError(f"{path} holds no figures")
    return figures


def compare(
    baseline: dict[str, Figure], current: dict[str, Figure], tolerance: float, absolute_tolerance: float | None = None
) -> list[Delta]:
    """Every figure of either result, baseline order first.

    Relative figures are judged with ``tolerance``, absolute ones with ``absolute_tolerance`` (default:
    ``tolerance``).
    """
    names = list(baseline) + [name for name in current if name not in baseline]
    wide = tolerance if absolute_tolerance is None else absolute_tolerance

    def allowed(name: str) -> float:
        figure = baseline.get(name) or current[name]
        return tolerance if is_relative(name, figure) else wide

    return [Delta(name, baseline.get(name), current.get(name), allowed(name)) for name in names]


def table(deltas: list[Delta]) -> str:
    """The comparison as a Markdown table, regressions first."""
    order = {"regression": 0, "missing": 1, "improved": 2, "ok": 3, "new": 4, "ungated": 5}
    rows = ["| figure | baseline | current | change | better | verdict |", "|---|---:|---:|---:|---|---|"]
    for delta in sorted(deltas, key=lambda d: order[d.verdict]):
        base = f"{delta.baseline.value:.6g}" if delta.baseline else "—"
        current = f"{delta.current.value:.6g}" if delta.current else "—"
        change = "—" if delta.change is None else f"{delta.change * 100:+.1f}%"
        better = (delta.baseline or delta.current).better  # type: ignore[union-attr]
        unit = (delta.baseline or delta.current).unit  # type: ignore[union-attr]
        name = f"{delta.name} ({unit})" if unit else delta.name
        verdict = delta.verdict.upper() if delta.failed else delta.verdict
        rows.append(f"| {name} | {base} | {current} | {change} | {better} | {verdict} |")
    return "\n".join(rows) + "\n"
