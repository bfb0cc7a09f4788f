"""The six Grafana dashboards, defined in Python and rendered with grafanalib."""

from __future__ import annotations

from collections.abc import Mapping

from observatory.dashboards import (
    cluster_overview,
    cost_roi,
    distributed_reasoning,
    inter_cerebral,
    llm_inference,
    vector_search,
)
from observatory.dashboards.grafana import render
from observatory.dashboards.model import Dashboard
from observatory.lint.promql import Query

GENERATED_DIR = "dashboards/generated"


def dashboards() -> tuple[Dashboard, ...]:
    """The suite, in the order the dashboards link to each other."""
    return (
        cluster_overview.DASHBOARD,
        inter_cerebral.DASHBOARD,
        llm_inference.DASHBOARD,
        vector_search.DASHBOARD,
        distributed_reasoning.DASHBOARD,
        cost_roi.dashboard(),
    )


def artefacts() -> Mapping[str, str]:
    """Generated dashboard JSON files keyed by repository-relative path."""
    suite = dashboards()
    return {f"{GENERATED_DIR}/{dashboard.slug}.json": render(dashboard, suite) for dashboard in suite}


def queries() -> list[Query]:
    """Every PromQL expression in every dashboard panel, with its location."""
    return [
        Query(f"dashboard '{dashboard.title}' / panel '{panel.title}'", target.expr)
        for dashboard in dashboards()
        for panel in dashboard.panels
        for target in panel.targets
    ]


def panel_link(dashboard_uid: str, panel_title: str) -> str:
    """The relative Grafana URL that opens one panel: ``/d/<uid>/<slug>?viewPanel=<panel id>``.

    Raises KeyError for an unknown dashboard uid or panel title.
    """
    for dashboard in dashboards():
        if dashboard.uid == dashboard_uid:
            return f"/d/{dashboard.uid}/{dashboard.slug}?viewPanel={dashboard.panel_id(panel_title)}"
    raise KeyError(f"no dashboard with uid {dashboard_uid!r}")
