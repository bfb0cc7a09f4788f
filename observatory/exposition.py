"""Bridges from catalogue entries to ``prometheus_client`` objects.

Exporters build metric families with :func:`new_family` inside their collectors; the shard
runtime creates live instruments with :func:`instrument`. Both take the name, type, help,
labels and buckets from the catalogue, so no component restates them.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.metrics_core import Metric as FamilyBase

from observatory.metric import Metric, MetricType

Instrument = Counter | Gauge | Histogram


def new_family(metric: Metric) -> CounterMetricFamily | GaugeMetricFamily | HistogramMetricFamily:
    """An empty metric family for ``metric``, for a custom collector to fill with samples."""
    labels = list(metric.label_names)
    unit = metric.unit.value
    if metric.type is MetricType.COUNTER:
        return CounterMetricFamily(metric.name, metric.help, labels=labels, unit=unit)
    if metric.type is MetricType.GAUGE:
        return GaugeMetricFamily(metric.name, metric.help, labels=labels, unit=unit)
    return HistogramMetricFamily(metric.name, metric.help, labels=labels, unit=unit)


def instrument(metric: Metric, registry: CollectorRegistry) -> Instrument:
    """A live ``prometheus_client`` instrument for ``metric``, registered in ``registry``."""
    common = {
        "name": metric.name,
        "documentation": metric.help,
        "labelnames": metric.label_names,
        "unit": metric.unit.value,
        "registry": registry,
    }
    if metric.type is MetricType.GAUGE:
        return Gauge(**common)
    live = Counter(**common) if metric.type is MetricType.COUNTER else Histogram(buckets=metric.buckets, **common)
    # A series born at its first event holds 1 in its first sample, and increase() never counts that event
    # (the orchestrator's reasoning tasks, run between two scrapes, left their success rate empty). Where
    # every label value is known in advance, each series exists at zero from the start; gauges stay absent
    # until they read something.
    if metric.labels and all(label.values for label in metric.labels):
        for values in itertools.product(*(label.values for label in metric.labels)):
            live.labels(*values)
    return live


def example_family(metric: Metric) -> FamilyBase:
    """A family for ``metric`` holding one plausible sample, for documentation and linting."""
    family = new_family(metric)
    label_values = [label.values[0] if label.values else f"example_{label.name}" for label in metric.labels]
    if metric.type is MetricType.HISTOGRAM:
        buckets = [(repr(float(bound)), float(i + 1)) for i, bound in enumerate(metric.buckets)]
        buckets.append(("+Inf", float(len(metric.buckets) + 1)))
        family.add_metric(label_values, buckets=buckets, sum_value=float(metric.buckets[-1]))
    else:
        family.add_metric(label_values, 1.0)
    return family


class _StaticCollector:
    def __init__(self, families: Iterable[FamilyBase]) -> None:
        self._families = list(families)

    def collect(self) -> Iterable[FamilyBase]:
        return iter(self._families)


def render_examples(metrics: Iterable[Metric]) -> str:
    """The text exposition of one example sample per metric."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_StaticCollector(example_family(metric) for metric in metrics))
    return generate_latest(registry).decode()
