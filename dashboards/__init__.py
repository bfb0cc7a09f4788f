"""The six Grafana dashboards, defined in Python and rendered with grafanalib."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from observatory.config import ObservatoryConfig
from observatory.config.selectors import with_selectors
from observatory.dashboards import (
    cluster_overview,
    cost_roi,
    distributed_reasoning,
    inter_cerebral,
    llm_inference,
    vector_search,
)
from observatory.dashboards.grafana import render
from observatory.dashboards.model import Dashboard, Panel
from observatory.dashboards.navigation import Runbooks, annotation_queries

__all__ = ["Runbooks", "artefacts", "dashboards", "panel_link", "queries"]
from observatory.lint.promql import Query

GENERATED_DIR = "dashboards/generated"


def dashboards(config: ObservatoryConfig) -> tuple[Dashboard, ...]:
    """The suite for ``config``, in the order the dashboards link to each other.

    Every query reads each component's metrics through the component's configured selector.
    """
    suite = (
        cluster_overview.dashboard(config),
        inter_cerebral.dashboard(config),
        llm_inference.dashboard(config),
        vector_search.dashboard(config),
        distributed_reasoning.dashboard(config),
        cost_roi.dashboard(config),
    )
    return tuple(_selected(dashboard, config) for dashboard in suite)


def _selected_panel(panel: Panel, config: ObservatoryConfig) -> Panel:
    targets = tuple(replace(target, expr=with_selectors(target.expr, config)) for target in panel.targets)
    return replace(panel, targets=targets)


def _selected(dashboard: Dashboard, config: ObservatoryConfig) -> Dashboard:
    rows = tuple(
        replace(row, panels=tuple(_selected_panel(panel, config) for panel in row.panels)) for row in dashboard.rows
    )
    return replace(dashboard, rows=rows)


def artefacts(suite: Sequence[Dashboard], runbooks: Runbooks, config: ObservatoryConfig) -> Mapping[str, str]:
    """Generated dashboard JSON files of ``suite`` (built from ``config``) keyed by repository-relative path.

    ``runbooks`` are the alerts pointing at each panel.
    """
    return {f"{GENERATED_DIR}/{dashboard.slug}.json": render(dashboard, suite, runbooks, config) for dashboard in suite}


def queries(suite: Sequence[Dashboard], config: ObservatoryConfig) -> list[Query]:
    """Every PromQL expression of ``suite`` (built from ``config``): each panel's, and the annotations'."""
    panels = [
        Query(f"dashboard '{dashboard.title}' / panel '{panel.title}'", target.expr)
        for dashboard in suite
        for panel in dashboard.panels
        for target in panel.targets
    ]
    return panels + [Query("dashboard annotation", expr) for expr in annotation_queries(config)]


def panel_link(suite: Sequence[Dashboard], dashboard_uid: str, panel_title: str) -> str:
    """The relative Grafana URL that opens one panel of ``suite``: ``/d/<uid>/<slug>?viewPanel=<panel id>``.

    Raises KeyError for an unknown dashboard uid or panel title.
    """
    for dashboard in suite:
        if dashboard.uid == dashboard_uid:
            return f"/d/{dashboard.uid}/{dashboard.slug}?viewPanel={dashboard.panel_id(panel_title)}"
    raise KeyError(f"no dashboard with uid {dashboard_uid!r}")
