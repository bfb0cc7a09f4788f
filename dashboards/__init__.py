"""The six Grafana dashboards, defined in Python and rendered with grafanalib."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from observatory.config import ObservatoryConfig
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


def dashboards(config: ObservatoryConfig) -> tuple[Dashboard, ...]:
    """The suite for ``config``, in the order the dashboards link to each other."""
    return (
        cluster_overview.dashboard(config),
        inter_cerebral.dashboard(config),
        llm_inference.dashboard(config),
        vector_search.dashboard(config),
        distributed_reasoning.dashboard(config),
        cost_roi.dashboard(config),
    )


def artefacts(suite: Sequence[Dashboard]) -> Mapping[str, str]:
    """Generated dashboard JSON files of ``suite`` keyed by repository-relative path."""
    return {f"{GENERATED_DIR}/{dashboard.slug}.json": render(dashboard, suite) for dashboard in suite}


def queries(suite: Sequence[Dashboard]) -> list[Query]:
    """Every PromQL expression in every panel of ``suite``, with its location."""
    return [
        Query(f"dashboard '{dashboard.title}' / panel '{panel.title}'", target.expr)
        for dashboard in suite
        for panel in dashboard.panels
        for target in panel.targets
    ]


def panel_link(suite: Sequence[Dashboard], dashboard_uid: str, panel_title: str) -> str:
    """The relative Grafana URL that opens one panel of ``suite``: ``/d/<uid>/<slug>?viewPanel=<panel id>``.

    Raises KeyError for an unknown dashboard uid or panel title.
    """
    for dashboard in suite:
        if dashboard.uid == dashboard_uid:
            return f"/d/{dashboard.uid}/{dashboard.slug}?viewPanel={dashboard.panel_id(panel_title)}"
    raise KeyError(f"no dashboard with uid {dashboard_uid!r}")
