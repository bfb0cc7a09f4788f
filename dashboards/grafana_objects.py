"""grafanalib objects written the way Grafana's current dashboard schema reads them.

grafanalib 0.7.1 writes pre-Grafana-8 JSON for several panels and carries legacy fields; these
small typed objects write only the fields of the current schema (or what grafanalib lacks: the
node graph, a bare row header).
"""

from __future__ import annotations

import attr
from attr.validators import instance_of
from grafanalib import core as g


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
    """Grafana's current heatmap over pre-bucketed Prometheus histograms (grafanalib's is pre-Grafana-9).

    Only what this panel reads is set: the colour scheme under ``options.color``, the bucket bound's
    unit on the y axis and the count's unit on the cells. The field config's unit and colour are not
    the heatmap's, so they stay at counts.
    """

    scheme: str = attr.ib(default="Spectral")
    y_unit: str = attr.ib(default="short")

    def to_json_data(self) -> dict[str, object]:
        return self.panel_json(
            {
                "type": "heatmap",
                "options": {
                    "calculate": False,
                    "cellGap": 1,
                    "cellValues": {"unit": "short"},
                    "color": {
                        "exponent": 0.5,
                        "mode": "scheme",
                        "reverse": False,
                        "scale": "exponential",
                        "scheme": self.scheme,
                        "steps": 64,
                    },
                    "legend": {"show": True},
                    # Prometheus buckets are upper bounds (le).
                    "rowsFrame": {"layout": "le"},
                    "tooltip": {"show": True, "yHistogram": False},
                    "yAxis": {"axisPlacement": "left", "reverse": False, "unit": self.y_unit},
                },
            }
        )


@attr.s
class RowHeader:
    """A row header with only the fields of Grafana's row panel (grafanalib's carries a data panel's)."""

    title: str = attr.ib()
    id: int = attr.ib()
    gridPos: g.GridPos = attr.ib()  # noqa: N815 - the name grafanalib's layout code reads

    def to_json_data(self) -> dict[str, object]:
        return {
            "type": "row",
            "title": self.title,
            "id": self.id,
            "gridPos": self.gridPos,
            "collapsed": False,
            "panels": [],
        }


@attr.s
class NodeGraphPanel(g.Panel):
    """Grafana's node graph panel, which grafanalib lacks; edges come from ``source``/``target`` fields."""

    edge_unit: str = attr.ib(default="short")

    def to_json_data(self) -> dict[str, object]:
        return self.panel_json(
            {"type": "nodeGraph", "options": {"edges": {"mainStatUnit": self.edge_unit}, "nodes": {}}}
        )
