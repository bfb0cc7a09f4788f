"""The one adapter from our dashboard definitions to grafanalib objects and Grafana JSON.

grafanalib 0.7.1 writes a stale ``schemaVersion`` (12), legacy fields that the current
dashboard schema no longer has (``rows``, ``span``, ``error``...) and pre-Grafana-8 JSON for
the heatmap, gauge and bar gauge panels. This module uses grafanalib where its panels are
current, its own small typed objects (grafana_objects) where they are not or are missing, and
strips the legacy fields in one pass, so the JSON matches Grafana's current schema.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from grafanalib import core as g
from grafanalib._gen import DashboardEncoder

from observatory.config import ObservatoryConfig
from observatory.config.selectors import with_selectors
from observatory.dashboards.grafana_objects import (
    DescribedTemplate,
    HeatmapPanel,
    NodeGraphPanel,
    PrometheusTarget,
    ReducedValuePanel,
    RowHeader,
    ThresholdStep,
)
from observatory.dashboards.model import (
    Dashboard,
    Panel,
    PanelKind,
    Row,
    Style,
    Target,
    Threshold,
    ThresholdMode,
)
from observatory.dashboards.navigation import (
    DATASOURCE,
    Runbooks,
    annotations,
    dashboard_links,
    import_inputs,
    is_per_shard,
    runbook_links,
    shard_data_links,
)

SCHEMA_VERSION = 39  # what Grafana 11 writes
GRID_COLUMNS = 24
SHARD_QUERY = 'label_values(themis_shard_health_status{cluster=~"$cluster"}, shard)'
# A limit or total beside the data: a dashed line without fill, never part of a stack.
REFERENCE_LINE = (
    {"id": "custom.lineStyle", "value": {"dash": [10, 10], "fill": "dash"}},
    {"id": "custom.fillOpacity", "value": 0},
    {"id": "custom.stacking", "value": {"group": "reference", "mode": "none"}},
)
REF_IDS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

# Fields grafanalib writes that Grafana's current schema (and its import) no longer knows.
_LEGACY_FIELDS = {
    "dashboard": {"__inputs", "rows", "sharedCrosshair", "hideControls"},
    "panel": {
        "editable",
        "error",
        "hideTimeOverride",
        "height",
        "span",
        "minSpan",
        "cacheTimeout",
        "columns",
        "fontSize",
        "mappings",
        "color",
    },
    "variable": {"useTags", "tagsQuery", "tagValuesQuery"},
}
# The level of the objects under a key (``templating.list`` holds variables, see ``_modernise``).
_CHILD_LEVELS = {"panels": "panel", "templating": "templating"}


def _legend(target: Target, panel: Panel, config: ObservatoryConfig) -> str:
    # With a cluster configured, two chosen clusters draw same-named shards side by side: the legend tells
    # them apart. Table columns are matched by their name (see _overrides) and get a cluster column anyway.
    per_series = "{{" in target.legend and panel.kind not in (PanelKind.TABLE, PanelKind.BAR_CHART)
    return f"{{{{cluster}}}} {target.legend}" if config.cluster and per_series else target.legend


def _target(target: Target, index: int, legend: str) -> PrometheusTarget:
    return PrometheusTarget(
        expr=target.expr,
        legendFormat=legend,
        refId=REF_IDS[index],
        instant=target.instant,
        format=target.format.value,
        datasource=DATASOURCE,
    )


def _overrides(panel: Panel) -> list[dict[str, object]]:
    """Per-query units (and right axes) as field overrides; table columns match by their name."""
    overrides = []
    for index, target in enumerate(panel.targets):
        properties: list[dict[str, object]] = []
        if target.unit:
            properties.append({"id": "unit", "value": target.unit})
        if target.right_axis:
            properties.append({"id": "custom.axisPlacement", "value": "right"})
        if target.thresholds:
            properties.append({"id": "thresholds", "value": _thresholds(target.thresholds)})
            properties.append({"id": "custom.thresholdsStyle", "value": {"mode": "line"}})
        if target.reference:
            properties.extend(REFERENCE_LINE)
        if target.color:
            properties.append({"id": "color", "value": {"fixedColor": target.color, "mode": "fixed"}})
        if properties:
            # Merged instant tables have one frame: their columns are told apart by name.
            matcher = (
                {"id": "byName", "options": target.legend}
                if panel.kind in (PanelKind.TABLE, PanelKind.BAR_CHART)
                else {"id": "byFrameRefID", "options": REF_IDS[index]}
            )
            overrides.append({"matcher": matcher, "properties": properties})
    return overrides


def _thresholds(thresholds: Iterable[Threshold], mode: ThresholdMode = ThresholdMode.ABSOLUTE) -> dict[str, object]:
    steps = [ThresholdStep(step.color, step.value) for step in thresholds] or [ThresholdStep("green")]
    return {"mode": mode.value, "steps": steps}


def _field_defaults(panel: Panel, links: list[dict[str, object]]) -> dict[str, object]:
    # The heatmap colours and scales its cells itself (options.color); its fields are counts.
    heatmap = panel.kind is PanelKind.HEATMAP
    defaults: dict[str, object] = {
        "unit": "short" if heatmap else panel.unit,
        "thresholds": _thresholds(panel.thresholds, panel.threshold_mode),
        "mappings": [
            {
                "type": "value",
                "options": {
                    f"{m.value:g}": {"text": m.text, "color": m.color, "index": i} for i, m in enumerate(panel.mappings)
                },
            }
        ]
        if panel.mappings
        else [],
        "links": links,
    }
    if panel.min is not None and not heatmap:
        defaults["min"] = panel.min
    if panel.max is not None and not heatmap:
        defaults["max"] = panel.max
    coloured = panel.thresholds or any(target.thresholds for target in panel.targets)
    if panel.color_scheme and not heatmap:
        defaults["color"] = {"mode": panel.color_scheme}
    elif coloured and panel.kind is not PanelKind.TIMESERIES:
        defaults["color"] = {"mode": "thresholds"}
    if panel.kind is PanelKind.TABLE and (panel.color_scheme or coloured):
        defaults["custom"] = {"cellOptions": {"type": "color-background"}, "align": "auto"}
    if panel.axis_label:
        defaults["custom"] = {"axisLabel": panel.axis_label}
    return defaults


def _timeseries(panel: Panel, common: dict) -> g.Panel:
    stacked = panel.style is not Style.LINES
    return g.TimeSeries(
        **common,
        unit=panel.unit,
        drawStyle="bars" if panel.style is Style.STACKED_BARS else "line",
        fillOpacity=60 if stacked else 10,
        stacking={"mode": "normal", "group": "A"} if stacked else {"mode": "none", "group": "A"},
        legendDisplayMode="table",
        legendCalcs=["mean", "lastNotNull", "max"],
        tooltipMode="multi",
        thresholdsStyleMode="line" if len(panel.thresholds) > 1 else "off",
    )


def _grafanalib_panel(panel: Panel, common: dict) -> g.Panel:
    kind = panel.kind
    if kind is PanelKind.TIMESERIES:
        return _timeseries(panel, common)
    if kind is PanelKind.STAT:
        return g.Stat(
            **common,
            format=panel.unit,
            reduceCalc="lastNotNull",
            graphMode="area",
            noValue="no data",
            textMode="value_and_name" if len(panel.targets) > 1 else "auto",
            colorMode="value",
        )
    if kind is PanelKind.GAUGE:
        return ReducedValuePanel(**common, panel_type="gauge")
    if kind is PanelKind.BAR_GAUGE:
        return ReducedValuePanel(**common, panel_type="bargauge", orientation="horizontal")
    if kind is PanelKind.HEATMAP:
        return HeatmapPanel(**common, scheme=panel.color_scheme or "Spectral", y_unit=panel.unit)
    if kind is PanelKind.PIE_CHART:
        return g.PieChartv2(
            **common,
            unit=panel.unit,
            pieType="donut",
            legendDisplayMode="table",
            legendPlacement="right",
            legendValues=["value", "percent"],
        )
    if kind is PanelKind.TABLE:
        sort = [g.TableSortByField(displayName=panel.sort_by, desc=True)] if panel.sort_by else []
        return g.Table(**common, unit=panel.unit, sortBy=sort)
    if kind is PanelKind.BAR_CHART:
        if panel.horizontal:
            return g.BarChart(**common, orientation="horizontal", stacking="normal", showValue="never")
        return g.BarChart(**common, showValue="always", xTickLabelRotation=0)
    if kind is PanelKind.STATE_TIMELINE:
        return g.StateTimeline(**common)
    return NodeGraphPanel(**common, edge_unit=panel.unit)


def _layout(rows: Iterable[Row], first_row_id: int) -> list[tuple[Panel | Row, int, g.GridPos]]:
    """Each row header across the grid, its panels left to right, top to bottom under it.

    Panels keep ids 1..n in reading order (alerts link to them); row headers take the ids after.
    """
    placed: list[tuple[Panel | Row, int, g.GridPos]] = []
    y, panel_id = 0, 1
    for row_index, row in enumerate(rows):
        placed.append((row, first_row_id + row_index, g.GridPos(h=1, w=GRID_COLUMNS, x=0, y=y)))
        x, y, row_height = 0, y + 1, 0
        for panel in row.panels:
            if x + panel.width > GRID_COLUMNS:
                x, y, row_height = 0, y + row_height, 0
            placed.append((panel, panel_id, g.GridPos(h=panel.height, w=panel.width, x=x, y=y)))
            x, row_height, panel_id = x + panel.width, max(row_height, panel.height), panel_id + 1
        y += row_height
    return placed


def _grafana_panel(
    panel: Panel, panel_id: int, position: g.GridPos, links: PanelLinks, config: ObservatoryConfig
) -> g.Panel:
    field_config: dict[str, object] = {
        "defaults": _field_defaults(panel, links.data_links(panel)),
        "overrides": _overrides(panel),
    }
    extra: dict[str, object] = {"fieldConfig": field_config, "pluginVersion": "11.0.0"}
    if panel.kind is PanelKind.STAT:
        extra["options"] = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}}
    common = {
        "title": panel.title,
        "description": panel.description,
        "dataSource": DATASOURCE,
        "targets": [
            _target(target, index, _legend(target, panel, config)) for index, target in enumerate(panel.targets)
        ],
        "id": panel_id,
        "gridPos": position,
        "interval": panel.interval,
        "links": links.panel_links(panel),
        "maxDataPoints": None,
        "transformations": [{"id": t.id, "options": dict(t.options)} for t in panel.transformations],
        "extraJson": extra,
    }
    return _grafanalib_panel(panel, common)


@dataclass(frozen=True)
class PanelLinks:
    """The links a dashboard's panels carry: per-shard data links into the suite, runbooks of alerts."""

    dashboard: Dashboard
    suite: tuple[Dashboard, ...]
    runbooks: Runbooks

    def data_links(self, panel: Panel) -> list[dict[str, object]]:
        """Per-shard series (or table rows) link to each dashboard filtered to that shard."""
        if not is_per_shard(panel):
            return []
        return shard_data_links(panel, self.suite, row_field=panel.kind is PanelKind.TABLE)

    def panel_links(self, panel: Panel) -> list[dict[str, object]]:
        """The runbooks of the alerts that point at this panel."""
        return runbook_links(self.runbooks.get((self.dashboard.uid, panel.title), ()))


def _variables(config: ObservatoryConfig) -> list[g.Template]:
    # A configured cluster makes the cluster variable a choice between the clusters Prometheus knows.
    cluster_label = "cluster" if config.cluster else None
    cluster = (
        DescribedTemplate(
            name="cluster",
            label="Cluster",
            query=f"label_values(up, {cluster_label})",
            dataSource=DATASOURCE,
            multi=True,
            includeAll=True,
            allValue=".*",
            default="$__all",
            refresh=2,
            description="Clusters to show; all by default.",
        )
        if cluster_label
        else DescribedTemplate(
            name="cluster",
            label="Cluster",
            type="constant",
            query=".*",
            default=".*",
            hide=2,
            description="No cluster label is configured: every query matches all clusters.",
        )
    )
    return [
        DescribedTemplate(
            name="datasource",
            label="Data source",
            type="datasource",
            query="prometheus",
            # Replaced by the data source chosen on import; provisioning falls back to the default Prometheus.
            default="${DS_PROMETHEUS}",
            description="The Prometheus that scrapes the Themis cluster.",
        ),
        cluster,
        DescribedTemplate(
            name="shard",
            label="Shard",
            query=with_selectors(SHARD_QUERY, config),
            dataSource=DATASOURCE,
            multi=True,
            includeAll=True,
            allValue=".*",
            default="$__all",
            refresh=2,
            description='Shards to show; every shard-labelled query filters on shard=~"$shard".',
        ),
    ]


def to_grafanalib(
    dashboard: Dashboard, suite: Iterable[Dashboard], runbooks: Runbooks, config: ObservatoryConfig
) -> g.Dashboard:
    """The grafanalib dashboard for ``dashboard``, linking to the rest of ``suite`` and to runbooks."""
    suite = tuple(suite)
    links = PanelLinks(dashboard, suite, runbooks)
    panels: list[g.Panel] = []
    for item, item_id, position in _layout(dashboard.rows, len(dashboard.panels) + 1):
        if isinstance(item, Row):
            panels.append(RowHeader(title=item.title, id=item_id, gridPos=position))
        else:
            panels.append(_grafana_panel(item, item_id, position, links, config))
    return g.Dashboard(
        title=dashboard.title,
        uid=dashboard.uid,
        description=dashboard.description,
        tags=list(dashboard.tags),
        panels=panels,
        templating=g.Templating(_variables(config)),
        annotations=g.Annotations(annotations(config)),
        links=[],
        schemaVersion=SCHEMA_VERSION,
        time=g.Time(dashboard.time_from, "now"),
        timezone="browser",
        refresh="30s",
        graphTooltip=g.GRAPH_TOOLTIP_MODE_SHARED_CROSSHAIR,
    )


def _modernise(node: object, level: str = "dashboard") -> object:
    """Drops nulls and the legacy fields of each level (see ``_LEGACY_FIELDS``)."""
    if isinstance(node, list):
        return [_modernise(item, level) for item in node]
    if not isinstance(node, dict):
        return node
    legacy = _LEGACY_FIELDS.get(level, set())
    result = {}
    for key, value in node.items():
        if value is None or key in legacy:
            continue
        child = "variable" if level == "templating" and key == "list" else _CHILD_LEVELS.get(key, "")
        result[key] = _modernise(value, child)
    if level == "variable" and isinstance(result.get("current"), dict):
        result["current"].pop("tags", None)
    return result


def render(dashboard: Dashboard, suite: Iterable[Dashboard], runbooks: Runbooks, config: ObservatoryConfig) -> str:
    """The dashboard's JSON: sorted keys, two-space indent, trailing newline; the same on every run."""
    suite = tuple(suite)
    data = json.loads(
        json.dumps(to_grafanalib(dashboard, suite, runbooks, config).to_json_data(), cls=DashboardEncoder)
    )
    modern = _modernise(data)
    # Set after the clean-up: grafanalib's own link and import fields are the legacy ones it drops.
    modern["links"] = dashboard_links(dashboard, suite)
    modern["__inputs"] = import_inputs()
    return json.dumps(modern, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
