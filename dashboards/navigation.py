"""What takes an on-call engineer from a panel to the cause: links, data links, runbooks and annotations.

All of it keeps the chosen time range and variables (data source, cluster, shards), so a click
never lands on a dashboard that shows something else than the one it came from.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from observatory.config import ObservatoryConfig
from observatory.config.selectors import with_selectors
from observatory.dashboards.model import Dashboard, Panel
from observatory.dashboards.panels import select

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
# The label a per-shard series carries, as Grafana's data links address it in series and in table rows.
SHARD_FIELD = {"series": "${__field.labels.shard}", "row": "${__data.fields.shard}"}
_GROUPS_BY_SHARD = re.compile(r"\bby \([^)]*\bshard\b")


@dataclass(frozen=True)
class Runbook:
    """An alert that points at a panel, and the runbook that says what to do when it fires."""

    alert: str
    url: str


# Panels an alert points at, keyed by (dashboard uid, panel title).
Runbooks = Mapping[tuple[str, str], tuple[Runbook, ...]]


def dashboard_links(dashboard: Dashboard, suite: Iterable[Dashboard]) -> list[dict[str, object]]:
    """Links to the rest of the suite that carry the time range and every variable along."""
    return [
        {
            "title": other.title,
            "type": "link",
            "url": f"/d/{other.uid}/{other.slug}",
            "keepTime": True,
            "includeVars": True,
            "icon": "dashboard",
            "tooltip": other.description,
            "asDropdown": False,
            "targetBlank": False,
            "tags": [],
        }
        for other in suite
        if other.uid != dashboard.uid
    ]


def is_per_shard(panel: Panel) -> bool:
    """Whether the panel's series (or table rows) are one per shard."""
    return any("{{shard}}" in target.legend or _GROUPS_BY_SHARD.search(target.expr) for target in panel.targets)


def shard_data_links(panel: Panel, suite: Iterable[Dashboard], row_field: bool) -> list[dict[str, object]]:
    """From one shard's series to every dashboard of the suite filtered to that shard, same time range."""
    shard = SHARD_FIELD["row" if row_field else "series"]
    return [
        {
            "title": f"{other.title}: shard {shard}",
            "url": f"/d/{other.uid}/{other.slug}?var-shard={shard}&var-datasource=${{datasource}}"
            f"&var-cluster=${{cluster}}&${{__url_time_range}}",
            "targetBlank": False,
        }
        for other in suite
    ]


def runbook_links(runbooks: Iterable[Runbook]) -> list[dict[str, object]]:
    """Panel links to the runbook of each alert that points at the panel."""
    return [{"title": f"Runbook: {runbook.alert}", "url": runbook.url, "targetBlank": True} for runbook in runbooks]


def annotations(config: ObservatoryConfig) -> list[dict[str, object]]:
    """Firing alerts and shard restarts, marked on every time series panel of the dashboard."""
    return [
        {
            "name": "Firing alerts",
            "datasource": DATASOURCE,
            "enable": True,
            "hide": False,
            "iconColor": "red",
            "expr": 'ALERTS{alertstate="firing", cluster=~"$cluster", shard=~"$shard|"}',
        },
        {
            "name": "Shard restarts",
            "datasource": DATASOURCE,
            "enable": True,
            "hide": False,
            "iconColor": "orange",
            # The start time changes exactly when a shard process starts again.
            "expr": with_selectors(f"changes({select('themis_shard_start_time_seconds')}[$__interval]) > 0", config),
        },
    ]


def annotation_queries(config: ObservatoryConfig) -> list[str]:
    """The PromQL of every annotation, so lint and the live tests check them like panel queries."""
    return [str(annotation["expr"]) for annotation in annotations(config)]


def import_inputs() -> list[dict[str, object]]:
    """Grafana's import UI offers a data source picker for each input (``${DS_PROMETHEUS}`` in the JSON)."""
    return [
        {
            "name": "DS_PROMETHEUS",
            "label": "Prometheus",
            "description": "The Prometheus that scrapes the Themis cluster.",
            "type": "datasource",
            "pluginId": "prometheus",
            "pluginName": "Prometheus",
        }
    ]
