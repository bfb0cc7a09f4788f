"""The verification report: what was found, whether anything is missing, and how it prints."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class PanelResult:
    """One panel: ``data`` (a query returned series), ``empty`` (none did) or ``error`` (one was refused)."""

    title: str
    status: str
    detail: str = ""


@dataclass(frozen=True)
class DashboardResult:
    """The panels of one dashboard."""

    uid: str
    title: str
    panels: tuple[PanelResult, ...]

    def count(self, status: str) -> int:
        """How many panels have ``status``."""
        return sum(panel.status == status for panel in self.panels)


@dataclass(frozen=True)
class WrongType:
    """A metric Prometheus' metadata gives another type than the catalogue declares."""

    metric: str
    declared: str
    exposed: str


@dataclass(frozen=True)
class UndeclaredLabels:
    """A metric whose series carry label names neither the catalogue nor scraping adds."""

    metric: str
    labels: tuple[str, ...]


@dataclass(frozen=True)
class RuleError:
    """A rule whose last evaluation failed."""

    group: str
    rule: str
    error: str


@dataclass(frozen=True)
class AlertmanagerResult:
    """Whether alerts can reach an Alertmanager."""

    reachable: bool
    detail: str


@dataclass(frozen=True)
class Report:
    """Everything ``observatory verify`` found."""

    prometheus: str
    dashboards: tuple[DashboardResult, ...]
    missing_metrics: tuple[str, ...]
    wrong_types: tuple[WrongType, ...]
    undeclared_labels: tuple[UndeclaredLabels, ...]
    unexpected_metrics: tuple[str, ...]
    rule_errors: tuple[RuleError, ...]
    missing_rule_groups: tuple[str, ...]
    firing_alerts: tuple[str, ...]
    alertmanager: AlertmanagerResult
    gaps: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        gaps = [
            f"dashboard {d.title!r}: panel {p.title!r} {p.status}"
            for d in self.dashboards
            for p in d.panels
            if p.status != "data"
        ]
        gaps += [f"metric {name} is missing" for name in self.missing_metrics]
        gaps += [f"metric {w.metric} is a {w.exposed}, declared a {w.declared}" for w in self.wrong_types]
        gaps += [f"metric {u.metric} has undeclared labels {', '.join(u.labels)}" for u in self.undeclared_labels]
        gaps += [f"metric {name} is not in the catalogue" for name in self.unexpected_metrics]
        gaps += [f"rule {e.group}/{e.rule} fails: {e.error}" for e in self.rule_errors]
        gaps += [f"rule group {name} is not loaded" for name in self.missing_rule_groups]
        if not self.alertmanager.reachable:
            gaps.append(f"Alertmanager: {self.alertmanager.detail}")
        object.__setattr__(self, "gaps", tuple(gaps))

    @property
    def ok(self) -> bool:
        """True when nothing is missing, mistyped, unexpected, failing or unreachable."""
        return not self.gaps


def render_json(report: Report) -> str:
    """The report as JSON, for CI."""
    return json.dumps({**asdict(report), "ok": report.ok}, indent=2) + "\n"


def _table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> list[str]:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    line = lambda row: "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()  # noqa: E731
    return [line(header), line(tuple("-" * width for width in widths)), *(line(row) for row in rows)]


def _section(title: str, items: list[str], none: str) -> list[str]:
    return [f"## {title}", *(f"- {item}" for item in items or [none]), ""]


def render_table(report: Report) -> str:
    """The report as tables and lists, for people."""
    lines = [f"# Verification of {report.prometheus}", ""]
    for dashboard in report.dashboards:
        counts = f"{dashboard.count('data')} with data, {len(dashboard.panels) - dashboard.count('data')} without"
        lines += [f"## Dashboard {dashboard.title} ({counts})", ""]
        lines += _table([(p.title, p.status, p.detail) for p in dashboard.panels], ("panel", "status", "detail"))
        lines.append("")
    lines += _section("Catalogue metrics missing", list(report.missing_metrics), "none")
    lines += _section(
        "Catalogue metrics with the wrong type",
        [f"{w.metric}: exposed as {w.exposed}, declared {w.declared}" for w in report.wrong_types],
        "none",
    )
    lines += _section(
        "Undeclared labels",
        [f"{u.metric}: {', '.join(u.labels)}" for u in report.undeclared_labels],
        "none",
    )
    lines += _section("Metrics not in the catalogue", list(report.unexpected_metrics), "none")
    lines += _section(
        "Rules evaluating with errors",
        [f"{e.group}/{e.rule}: {e.error}" for e in report.rule_errors]
        + [f"group {name} is not loaded" for name in report.missing_rule_groups],
        "none",
    )
    lines += _section("Alerts firing now", list(report.firing_alerts), "none")
    state = "reachable" if report.alertmanager.reachable else "NOT reachable"
    lines += [f"## Alertmanager: {state} ({report.alertmanager.detail})", ""]
    verdict = "OK: no gaps" if report.ok else f"FAILED: {len(report.gaps)} gaps"
    lines.append(verdict)
    return "\n".join(lines) + "\n"
