"""The metric catalogue: every metric the Themis cluster exposes, the single source of truth."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from observatory.catalogue.exporter_self import EXPORTER_SELF_METRICS
from observatory.catalogue.gpu import GPU_METRICS
from observatory.catalogue.host import HOST_METRICS
from observatory.catalogue.orchestrator import ORCHESTRATOR_METRICS
from observatory.catalogue.shard import SHARD_METRICS
from observatory.metric import Metric, MetricType, Source


@dataclass(frozen=True)
class Catalogue:
    """An immutable, name-indexed collection of metric definitions."""

    metrics: tuple[Metric, ...]

    def __post_init__(self) -> None:
        names = [metric.name for metric in self.metrics]
        duplicates = {name for name in names if names.count(name) > 1}
        if duplicates:
            raise ValueError(f"metrics defined twice: {sorted(duplicates)}")

    def __iter__(self) -> Iterator[Metric]:
        return iter(self.metrics)

    def __len__(self) -> int:
        return len(self.metrics)

    def __contains__(self, name: object) -> bool:
        return any(metric.name == name for metric in self.metrics)

    def __getitem__(self, name: str) -> Metric:
        for metric in self.metrics:
            if metric.name == name:
                return metric
        raise KeyError(f"no catalogue metric named {name!r}")

    def by_source(self, source: Source) -> tuple[Metric, ...]:
        """The metrics that ``source`` exposes, in catalogue order."""
        return tuple(metric for metric in self.metrics if source in metric.sources)

    def resolve_series(self, series_name: str) -> tuple[Metric, str] | None:
        """Map a sample name (``x_bucket``, ``x_sum``, ``x``) to its metric and suffix."""
        for metric in self.metrics:
            if series_name == metric.name:
                return metric, ""
            if metric.type is MetricType.HISTOGRAM and series_name in metric.series_names:
                return metric, series_name.removeprefix(metric.name)
        return None


CATALOGUE = Catalogue(GPU_METRICS + HOST_METRICS + EXPORTER_SELF_METRICS + SHARD_METRICS + ORCHESTRATOR_METRICS)

__all__ = ["CATALOGUE", "Catalogue"]
