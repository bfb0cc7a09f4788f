"""The cross-cutting post-pass: every alert gets its absolute runbook_url and dashboard_url.

The dashboards are not imported here: whoever composes rules and dashboards passes a
:data:`PanelLink` that turns an alert's ``(dashboard uid, panel title)`` into the panel's path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from observatory.config import ObservatoryConfig
from observatory.rules.model import Alert, Group

PanelLink = Callable[[str, str], str]


def runbook_anchor(alert_name: str) -> str:
    """The anchor GitHub and most Markdown renderers give an alert's runbook heading."""
    return alert_name.lower()


def with_links(groups: list[Group], config: ObservatoryConfig, panel_link: PanelLink | None) -> list[Group]:
    """The groups with runbook_url, dashboard_url (when ``panel_link`` is given) and the cluster label set."""
    cluster = (("cluster", config.cluster),) if config.cluster else ()

    def link(rule):
        if not isinstance(rule, Alert):
            return rule
        dashboard = config.links.grafana_url + panel_link(*rule.panel) if panel_link else ""
        return replace(
            rule,
            runbook_url=f"{config.links.runbook_url}#{runbook_anchor(rule.name)}",
            dashboard_url=dashboard,
            labels=(*rule.labels, *cluster),
        )

    return [replace(group, rules=tuple(link(rule) for rule in group.rules)) for group in groups]
