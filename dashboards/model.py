"""Our own declarative definitions of dashboards and panels, independent of grafanalib."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class PanelKind(StrEnum):
    """The Grafana core visualisations the dashboards use (values are Grafana's panel type ids)."""

    TIMESERIES = "timeseries"
    STAT = "stat"
    GAUGE = "gauge"
    BAR_GAUGE = "bargauge"
    BAR_CHART = "barchart"
    HEATMAP = "heatmap"
    PIE_CHART = "piechart"
    TABLE = "table"
    STATE_TIMELINE = "state-timeline"
    NODE_GRAPH = "nodeGraph"


class Style(StrEnum):
    """How a time series panel draws its series."""

    LINES = "lines"
    STACKED_AREA = "stacked_area"
    STACKED_BARS = "stacked_bars"


class ThresholdMode(StrEnum):
    """What threshold step values are measured in."""

    ABSOLUTE = "absolute"
    # Percent of the way from the field's min to its max: a bound relative to a per-series max
    # (index bytes against the GPU's memory) that no absolute value can express.
    PERCENTAGE = "percentage"


class QueryFormat(StrEnum):
    """The shape the Prometheus data source returns a query's result in."""

    TIME_SERIES = "time_series"
    TABLE = "table"
    # De-accumulates histogram buckets: one field per `le`, counts per bucket.
    HEATMAP = "heatmap"


@dataclass(frozen=True)
class Target:
    """One PromQL query of a panel; ``unit`` overrides the panel's unit for this query's series.

    ``thresholds`` override the panel's for this query's series and are drawn as lines: a panel
    whose series have different targets (utilisation above 70 %, miss rate below 20 %) needs one
    set per series.
    """

    expr: str
    legend: str = ""
    instant: bool = False
    format: QueryFormat = QueryFormat.TIME_SERIES
    unit: str | None = None
    right_axis: bool = False
    thresholds: tuple[Threshold, ...] = ()
    # A limit or total drawn beside the data (VRAM total, purchase price): a dashed line, never stacked.
    reference: bool = False
    # A fixed colour for this query's series ("transparent" hides a Gantt bar's offset).
    color: str | None = None


@dataclass(frozen=True)
class Threshold:
    """A threshold step: from ``value`` upwards (``None`` is the base step) the colour applies."""

    color: str
    value: float | None = None


@dataclass(frozen=True)
class ValueMapping:
    """Shows an exact value as text in a colour (e.g. health 0.5 as "degraded")."""

    value: float
    text: str
    color: str


@dataclass(frozen=True)
class Transformation:
    """A Grafana data transformation, by its id, with that transformation's options."""

    id: str
    options: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Panel:
    """One panel: what it shows (targets), how (kind, style, unit, thresholds) and why (description)."""

    title: str
    kind: PanelKind
    description: str
    unit: str
    targets: tuple[Target, ...]
    thresholds: tuple[Threshold, ...] = ()
    threshold_mode: ThresholdMode = ThresholdMode.ABSOLUTE
    mappings: tuple[ValueMapping, ...] = ()
    style: Style = Style.LINES
    min: float | None = None
    max: float | None = None
    color_scheme: str | None = None
    transformations: tuple[Transformation, ...] = ()
    sort_by: str | None = None
    # Grafana's minimum step (and so $__interval): windows of one step never overlap.
    interval: str | None = None
    # What the y axis counts, where the unit alone does not say it (€ per day).
    axis_label: str | None = None
    # Bar charts: horizontal bars with stacked fields (a Gantt chart's offset and duration).
    horizontal: bool = False
    width: int = 12
    height: int = 8

    def __post_init__(self) -> None:
        if not self.description or not self.unit:
            raise ValueError(f"panel {self.title!r} needs a description and a unit")
        if not self.targets:
            raise ValueError(f"panel {self.title!r} has no query")
        if not 1 <= self.width <= 24:
            raise ValueError(f"panel {self.title!r}: width must be 1-24 grid columns")


@dataclass(frozen=True)
class Row:
    """A titled group of panels, laid out under a row header."""

    title: str
    panels: tuple[Panel, ...]


@dataclass(frozen=True)
class Dashboard:
    """One dashboard: identity and its rows of panels in reading order."""

    uid: str
    title: str
    description: str
    tags: tuple[str, ...]
    rows: tuple[Row, ...]
    # Cost needs weeks to mean anything; operational dashboards open on the last hours.
    time_from: str = "now-6h"

    @property
    def panels(self) -> tuple[Panel, ...]:
        """Every panel, row after row."""
        return tuple(panel for row in self.rows for panel in row.panels)

    def __post_init__(self) -> None:
        titles = [panel.title for panel in self.panels]
        duplicates = {title for title in titles if titles.count(title) > 1}
        if duplicates:
            raise ValueError(f"dashboard {self.uid}: panel titles used twice: {sorted(duplicates)}")

    @property
    def slug(self) -> str:
        """The file and URL name: the uid without the project prefix."""
        return self.uid.removeprefix("themis-")

    def panel_id(self, title: str) -> int:
        """The panel's id: its 1-based position, so ids are stable while the order is."""
        for index, panel in enumerate(self.panels, start=1):
            if panel.title == title:
                return index
        raise KeyError(f"dashboard {self.uid} has no panel {title!r}")
