"""Declarative definitions of metrics and their labels, and the naming rules they obey."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum


class MetricType(StrEnum):
    """The Prometheus metric types the catalogue uses."""

    COUNTER = "counter"
    GAUGE = "gauge"
    HISTOGRAM = "histogram"


class Source(StrEnum):
    """The component that exposes a metric on its ``/metrics`` endpoint."""

    GPU_EXPORTER = "gpu-exporter"
    HOST_EXPORTER = "host-exporter"
    SHARD = "shard"
    ORCHESTRATOR = "orchestrator"


class Unit(StrEnum):
    """Base units allowed in metric names (Prometheus naming practice)."""

    NONE = ""
    SECONDS = "seconds"
    BYTES = "bytes"
    RATIO = "ratio"
    CELSIUS = "celsius"
    JOULES = "joules"
    WATTS = "watts"
    HERTZ = "hertz"
    TOKENS = "tokens"
    VECTORS = "vectors"


# Fragments that betray a non-base unit or a type baked into the name.
_FORBIDDEN_FRAGMENTS = ("_milliseconds", "_ms", "_percent", "_kb", "_mb", "_gb", "_counter", "_gauge")
_RESERVED_SUFFIXES = ("_bucket", "_sum", "_count", "_created")
_SNAKE_CASE = re.compile(r"^[a-z]([a-z0-9_]*[a-z0-9])?$")
_RESERVED_LABELS = frozenset({"le", "quantile", "job", "instance"})
PREFIX = "themis_"
OTHER = "other"


class NamingError(ValueError):
    """A metric or label definition breaks the naming rules."""


@dataclass(frozen=True)
class Label:
    """A label name with a declared bound on the number of values it can take.

    ``values`` lists the closed set of values where it is known in advance (``mode`` is
    ``parallel`` or ``sequential``). Otherwise the values come from configuration (the
    configured shards, the loaded models) and ``max_values`` caps them: a component that
    records the label folds any value beyond the bound into ``"other"``.
    """

    name: str
    help: str
    values: tuple[str, ...] = ()
    max_values: int = 16

    def __post_init__(self) -> None:
        if not _SNAKE_CASE.match(self.name) or self.name.startswith("__"):
            raise NamingError(f"label {self.name!r} is not snake_case")
        if self.name in _RESERVED_LABELS:
            raise NamingError(f"label {self.name!r} is reserved by Prometheus")
        if self.values and len(self.values) > self.max_values:
            raise NamingError(f"label {self.name!r} lists more values than its bound")

    @property
    def bound(self) -> int:
        """The most distinct values this label may carry."""
        return len(self.values) if self.values else self.max_values


@dataclass(frozen=True)
class SeedName:
    """Where a catalogue metric comes from in the seed specification, if it was renamed.

    ``thresholds`` restates the seed's thresholds for this metric in the catalogue's unit.
    """

    name: str
    conversion: str = ""
    thresholds: str = ""


@dataclass(frozen=True)
class Metric:
    """One catalogue entry: everything needed to expose, query, chart and document a metric."""

    name: str
    type: MetricType
    help: str
    unit: Unit
    source: Source
    labels: tuple[Label, ...] = ()
    buckets: tuple[float, ...] = ()
    seed: SeedName | None = None
    also_exposed_by: tuple[Source, ...] = field(default=())

    def __post_init__(self) -> None:
        check_metric(self)

    @property
    def label_names(self) -> tuple[str, ...]:
        """The declared label names, in declaration order."""
        return tuple(label.name for label in self.labels)

    @property
    def sources(self) -> tuple[Source, ...]:
        """Every component that exposes this metric."""
        return (self.source, *self.also_exposed_by)

    @property
    def series_names(self) -> tuple[str, ...]:
        """The sample names this metric produces in an exposition."""
        if self.type is MetricType.HISTOGRAM:
            return (f"{self.name}_bucket", f"{self.name}_sum", f"{self.name}_count")
        return (self.name,)

    def label(self, name: str) -> Label:
        """The declared label called ``name``."""
        for label in self.labels:
            if label.name == name:
                return label
        raise KeyError(f"{self.name} has no label {name!r}")


def check_metric(metric: Metric) -> None:
    """Raise :class:`NamingError` if ``metric`` breaks Prometheus naming practice."""
    name = metric.name
    if not name.startswith(PREFIX) or not _SNAKE_CASE.match(name):
        raise NamingError(f"{name}: names are snake_case and start with {PREFIX!r}")
    for fragment in _FORBIDDEN_FRAGMENTS:
        if fragment + "_" in name + "_":
            raise NamingError(f"{name}: {fragment!r} is not a base unit; use seconds, bytes or ratio")
    if name.endswith(_RESERVED_SUFFIXES):
        raise NamingError(f"{name}: suffixes {_RESERVED_SUFFIXES} are reserved for histograms")
    stem = name
    if metric.type is MetricType.COUNTER:
        if not name.endswith("_total"):
            raise NamingError(f"{name}: counters end in _total")
        stem = name.removesuffix("_total")
    elif name.endswith("_total"):
        raise NamingError(f"{name}: only counters end in _total")
    if metric.unit is not Unit.NONE and not stem.endswith("_" + metric.unit.value):
        raise NamingError(f"{name}: the unit {metric.unit.value!r} must end the name")
    if metric.type is MetricType.HISTOGRAM:
        if not metric.buckets or list(metric.buckets) != sorted(set(metric.buckets)):
            raise NamingError(f"{name}: histograms need strictly increasing buckets")
    elif metric.buckets:
        raise NamingError(f"{name}: only histograms have buckets")
    if not metric.help or metric.help[0].islower() or not metric.help.endswith("."):
        raise NamingError(f"{name}: help is a sentence with a capital and a full stop")
    names = metric.label_names
    if len(set(names)) != len(names):
        raise NamingError(f"{name}: duplicate label names")
