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
class ClusterResult:
    """The dashboards with the cluster variable set to one cluster."""

    cluster: str
    dashboards: tuple[DashboardResult, ...]


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
    # Per cluster, when the series carry a cluster label (a global view, or one server for several clusters).
    clusters: tuple[ClusterResult, ...] = ()
    # pint's promql/series (a metric or label the rules select that never exists) and promql/rate.
    rule_series: tuple[str, ...] = ()
    short_ranges: tuple[str, ...] = ()
    # A store fed by remote_write: recording rules whose output a cluster has not written.
    missing_recorded: tuple[str, ...] = ()
    # What was found or left unchecked without being a gap (a selector matching nothing now).
    notes: tuple[str, ...] = ()

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
        gaps += [
            f"cluster {c.cluster}: dashboard {d.title!r}: panel {p.title!r} {p.status}"
            for c in self.clusters
            for d in c.dashboards
            for p in d.panels
            if p.status != "data"
        ]
        gaps += [*self.rule_series, *self.short_ranges, *self.missing_recorded]
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
    for cluster in report.clusters:
        rows = [(d.title, p.title, p.status, p.detail) for d in cluster.dashboards for p in d.panels
                if p.status != "data"]  # fmt: skip
        panels = sum(len(d.panels) for d in cluster.dashboards)
        lines += [f"## Cluster {cluster.cluster} ({panels - len(rows)} of {panels} panels with data)", ""]
        if rows:
            lines += [*_table(rows, ("dashboard", "panel", "status", "detail")), ""]
    lines += _section("Rule selectors that never match (promql/series)", list(report.rule_series), "none")
    lines += _section("Rate ranges shorter than two scrapes (promql/rate)", list(report.short_ranges), "none")
    if report.missing_recorded:
        lines += _section("Recorded series a cluster has not written", list(report.missing_recorded), "none")
    lines += _section("Alerts firing now", list(report.firing_alerts), "none")
    if report.notes:
        lines += _section("Notes", list(report.notes), "none")
    state = "reachable" if report.alertmanager.reachable else "NOT reachable"
    lines += [f"## Alertmanager: {state} ({report.alertmanager.detail})", ""]
    verdict = "OK: no gaps" if report.ok else f"FAILED: {len(report.gaps)} gaps"
    lines.append(verdict)
    return "\n".join(lines) + "\n"
