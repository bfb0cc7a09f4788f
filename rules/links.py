"""The cross-cutting post-pass: every alert gets its runbook_url and dashboard_url."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from observatory.rules.model import Alert, Group
from observatory.rules.thresholds import RuleConfig

CLUSTER_OVERVIEW = "themis-cluster-overview"
LLM_INFERENCE = "themis-llm-inference"
COST_ROI = "themis-cost-roi"

PanelLink = Callable[[str, str], str]


def dashboard_panel_link(dashboard_uid: str, panel_title: str) -> str:
    """``/d/<uid>/<slug>?viewPanel=<id>`` from the dashboards' definitions (KeyError when unknown)."""
    # Imported on use: the dashboards package may read recorded series names from the rules.
    from observatory.dashboards import panel_link

    return panel_link(dashboard_uid, panel_title)


def runbook_anchor(alert_name: str) -> str:
    """The anchor GitHub and most Markdown renderers give an alert's runbook heading."""
    return alert_name.lower()


def with_links(groups: list[Group], config: RuleConfig, panel_link: PanelLink = dashboard_panel_link) -> list[Group]:
    """The groups with runbook_url and dashboard_url set on every alert."""

    def link(rule):
        if not isinstance(rule, Alert):
            return rule
        return replace(
            rule,
            runbook_url=f"{config.runbook_url}#{runbook_anchor(rule.name)}",
            dashboard_url=config.grafana_url + panel_link(*rule.panel),
        )

    return [replace(group, rules=tuple(link(rule) for rule in group.rules)) for group in groups]
