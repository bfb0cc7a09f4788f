"""The one adapter from our dashboard definitions to grafanalib objects and Grafana JSON.

grafanalib 0.7.1 writes a stale ``schemaVersion`` (12), legacy fields that the current
dashboard schema no longer has (``rows``, ``span``, ``error``...) and pre-Grafana-8 JSON for
the heatmap, gauge and bar gauge panels. This module uses grafanalib where its panels are
current, small typed panels of its own where they are not (or missing: node graph), and
strips the legacy fields in one pass, so the JSON matches Grafana's current schema.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import attr
from attr.validators import instance_of
from grafanalib import core as g
from grafanalib._gen import DashboardEncoder

from observatory.dashboards.model import (
    Dashboard,
    Panel,
    PanelKind,
    Style,
    Target,
    TextVariable,
    Threshold,
    ThresholdMode,
)

SCHEMA_VERSION = 39  # what Grafana 11 writes
GRID_COLUMNS = 24
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
SHARD_QUERY = "label_values(themis_shard_health_status, shard)"
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


@attr.s
class PrometheusTarget(g.Target):
    """A Prometheus query with only the fields of Grafana's Prometheus data query schema."""

    def to_json_data(self) -> dict[str, object]:
        data: dict[str, object] = {
            "datasource": self.datasource,
            "editorMode": "code",
            "expr": self.expr,
            "format": self.format,
            "instant": self.instant,
            "legendFormat": self.legendFormat,
            "range": not self.instant,
            "refId": self.refId,
        }
        return data


@attr.s
class ThresholdStep:
    """A threshold step of the current field-config schema (grafanalib's carries graph-panel fields)."""

    color: str = attr.ib()
    value: float | None = attr.ib(default=None)

    def to_json_data(self) -> dict[str, object]:
        return {"color": self.color, "value": self.value}


@attr.s
class DescribedTemplate(g.Template):
    """A template variable with the description Grafana shows beside it."""

    description: str = attr.ib(default="", validator=instance_of(str))

    def to_json_data(self) -> dict[str, object]:
        return {**super().to_json_data(), "description": self.description}


@attr.s
class ReducedValuePanel(g.Panel):
    """Gauge or bar gauge in the Grafana 8+ layout: one reduced value per series."""

    panel_type: str = attr.ib(default="gauge", validator=attr.validators.in_(("gauge", "bargauge")))
    orientation: str = attr.ib(default="auto")

    def to_json_data(self) -> dict[str, object]:
        options: dict[str, object] = {
            "orientation": self.orientation,
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "showThresholdLabels": False,
            "showThresholdMarkers": True,
        }
        if self.panel_type == "bargauge":
            options = {**options, "displayMode": "gradient", "showUnfilled": True, "valueMode": "color"}
            del options["showThresholdLabels"], options["showThresholdMarkers"]
        return self.panel_json({"type": self.panel_type, "options": options})


@attr.s
class HeatmapPanel(g.Panel):
    """Grafana's current heatmap panel (grafanalib's Heatmap is the pre-Grafana-9 one)."""

    scheme: str = attr.ib(default="Spectral")
    y_unit: str = attr.ib(default="short")
    reverse: bool = attr.ib(default=False)
    # A fixed value range (health 0-1) gets a linear colour scale pinned to it, so the middle of
    # the scheme means the middle value (0.5, degraded: yellow); counts keep the exponential scale
    # that lets small buckets show beside large ones.
    color_min: float | None = attr.ib(default=None)
    color_max: float | None = attr.ib(default=None)

    def to_json_data(self) -> dict[str, object]:
        fixed = self.color_min is not None and self.color_max is not None
        return self.panel_json(
            {
                "type": "heatmap",
                "options": {
                    "calculate": False,
                    "cellGap": 1,
                    "color": {
                        "exponent": 0.5,
                        "fill": "dark-orange",
                        "max": self.color_max,
                        "min": self.color_min,
                        "mode": "scheme",
                        "reverse": self.reverse,
                        "scale": "linear" if fixed else "exponential",
                        "scheme": self.scheme,
                        "steps": 64,
                    },
                    "legend": {"show": True},
                    "rowsFrame": {"layout": "auto"},
                    "tooltip": {"show": True, "yHistogram": False},
                    "yAxis": {"axisPlacement": "left", "reverse": False, "unit": self.y_unit},
                },
            }
        )


@attr.s
class NodeGraphPanel(g.Panel):
    """Grafana's node graph panel, which grafanalib lacks; edges come from ``source``/``target`` fields."""

    edge_unit: str = attr.ib(default="short")

    def to_json_data(self) -> dict[str, object]:
        return self.panel_json(
            {"type": "nodeGraph", "options": {"edges": {"mainStatUnit": self.edge_unit}, "nodes": {}}}
        )


def _target(target: Target, index: int) -> PrometheusTarget:
    return PrometheusTarget(
        expr=target.expr,
        legendFormat=target.legend,
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
        if properties:
            matcher = (
                {"id": "byName", "options": target.legend}
                if panel.kind is PanelKind.TABLE
                else {"id": "byFrameRefID", "options": REF_IDS[index]}
            )
            overrides.append({"matcher": matcher, "properties": properties})
    return overrides


def _thresholds(thresholds: Iterable[Threshold], mode: ThresholdMode = ThresholdMode.ABSOLUTE) -> dict[str, object]:
    steps = [ThresholdStep(step.color, step.value) for step in thresholds] or [ThresholdStep("green")]
    return {"mode": mode.value, "steps": steps}


def _field_defaults(panel: Panel) -> dict[str, object]:
    defaults: dict[str, object] = {
        "unit": panel.unit,
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
    }
    if panel.min is not None:
        defaults["min"] = panel.min
    if panel.max is not None:
        defaults["max"] = panel.max
    if panel.color_scheme:
        defaults["color"] = {"mode": panel.color_scheme}
    elif panel.thresholds and panel.kind is not PanelKind.TIMESERIES:
        defaults["color"] = {"mode": "thresholds"}
    if panel.kind is PanelKind.TABLE and panel.color_scheme:
        defaults["custom"] = {"cellOptions": {"type": "color-background"}, "align": "auto"}
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
        return HeatmapPanel(
            **common,
            scheme=panel.color_scheme or "Spectral",
            y_unit=panel.unit,
            color_min=panel.min,
            color_max=panel.max,
        )
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
        return g.BarChart(**common, showValue="always", xTickLabelRotation=0)
    if kind is PanelKind.STATE_TIMELINE:
        return g.StateTimeline(**common)
    return NodeGraphPanel(**common, edge_unit=panel.unit)


def _layout(panels: Iterable[Panel]) -> list[g.GridPos]:
    """Left to right, top to bottom on Grafana's 24-column grid."""
    positions, x, y, row_height = [], 0, 0, 0
    for panel in panels:
        if x + panel.width > GRID_COLUMNS:
            x, y, row_height = 0, y + row_height, 0
        positions.append(g.GridPos(h=panel.height, w=panel.width, x=x, y=y))
        x, row_height = x + panel.width, max(row_height, panel.height)
    return positions


def _grafana_panel(panel: Panel, panel_id: int, position: g.GridPos) -> g.Panel:
    overrides = _overrides(panel)
    field_config: dict[str, object] = {"defaults": _field_defaults(panel), "overrides": overrides}
    extra: dict[str, object] = {"fieldConfig": field_config, "pluginVersion": "11.0.0"}
    if panel.kind is PanelKind.STAT:
        extra["options"] = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}}
    common = {
        "title": panel.title,
        "description": panel.description,
        "dataSource": DATASOURCE,
        "targets": [_target(target, index) for index, target in enumerate(panel.targets)],
        "id": panel_id,
        "gridPos": position,
        "maxDataPoints": None,
        "transformations": [{"id": t.id, "options": dict(t.options)} for t in panel.transformations],
        "extraJson": extra,
    }
    return _grafanalib_panel(panel, common)


def _variables(variables: Iterable[TextVariable]) -> list[g.Template]:
    templates = [
        DescribedTemplate(
            name="datasource",
            label="Data source",
            type="datasource",
            query="prometheus",
            description="The Prometheus that scrapes the Themis cluster.",
        ),
        DescribedTemplate(
            name="shard",
            label="Shard",
            query=SHARD_QUERY,
            dataSource=DATASOURCE,
            multi=True,
            includeAll=True,
            allValue=".*",
            default="$__all",
            refresh=2,
            description='Shards to show; every shard-labelled query filters on shard=~"$shard".',
        ),
    ]
    for variable in variables:
        value = f"{variable.value:g}"
        templates.append(
            DescribedTemplate(
                name=variable.name,
                label=variable.label,
                type="textbox",
                query=value,
                default=value,
                description=variable.description,
            )
        )
    return templates


def _links(dashboard: Dashboard, others: Iterable[Dashboard]) -> list[g.DashboardLink]:
    return [
        g.DashboardLink(
            title=other.title,
            type="link",
            uri=f"/d/{other.uid}/{other.slug}",
            keepTime=True,
            includeVars=False,
            icon="dashboard",
            tooltip=other.description,
        )
        for other in others
        if other.uid != dashboard.uid
    ]


def to_grafanalib(dashboard: Dashboard, suite: Iterable[Dashboard]) -> g.Dashboard:
    """The grafanalib dashboard for ``dashboard``, linking to the rest of ``suite``."""
    positions = _layout(dashboard.panels)
    panels = [_grafana_panel(panel, index, positions[index - 1]) for index, panel in enumerate(dashboard.panels, 1)]
    return g.Dashboard(
        title=dashboard.title,
        uid=dashboard.uid,
        description=dashboard.description,
        tags=list(dashboard.tags),
        panels=panels,
        templating=g.Templating(_variables(dashboard.variables)),
        links=_links(dashboard, suite),
        schemaVersion=SCHEMA_VERSION,
        time=g.Time("now-6h", "now"),
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


def render(dashboard: Dashboard, suite: Iterable[Dashboard]) -> str:
    """The dashboard's JSON: sorted keys, two-space indent, trailing newline; the same on every run."""
    data = json.loads(json.dumps(to_grafanalib(dashboard, suite).to_json_data(), cls=DashboardEncoder))
    return json.dumps(_modernise(data), sort_keys=True, indent=2, ensure_ascii=False) + "\n"
