"""The metric catalogue: every metric the Themis cluster exposes, the single source of truth."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

from observatory.catalogue.exporter_self import EXPORTER_SELF_METRICS
from observatory.catalogue.gpu import GPU_METRICS
from observatory.catalogue.host import HOST_METRICS
from observatory.catalogue.orchestrator import ORCHESTRATOR_METRICS
from observatory.catalogue.shard import SHARD_METRICS
from observatory.metric import Metric, Source


@dataclass(frozen=True)
class Catalogue:
    """An immutable, name-indexed collection of metric definitions."""

    metrics: tuple[Metric, ...]

    def __post_init__(self) -> None:
        duplicates = [name for name, count in Counter(m.name for m in self.metrics).items() if count > 1]
        if duplicates:
            raise ValueError(f"metrics defined twice: {sorted(duplicates)}")

    def __iter__(self) -> Iterator[Metric]:
        return iter(self.metrics)

    def __len__(self) -> int:
        return len(self.metrics)

    @cached_property
    def _series(self) -> dict[str, tuple[Metric, str]]:
        """Each sample name (``x``; a histogram's ``x_bucket``, ``x_sum``, ``x_count``) to its metric and suffix."""
        return {
            series: (metric, series.removeprefix(metric.name))
            for metric in self.metrics
            for series in (metric.name, *metric.series_names)
        }

    def __contains__(self, name: object) -> bool:
        found = self._series.get(name) if isinstance(name, str) else None
        return found is not None and found[1] == ""

    def __getitem__(self, name: str) -> Metric:
        found = self._series.get(name)
        if found is None or found[1]:
            raise KeyError(f"no catalogue metric named {name!r}")
        return found[0]

    def by_source(self, source: Source) -> tuple[Metric, ...]:
        """The metrics that ``source`` exposes, in catalogue order."""
        return tuple(metric for metric in self.metrics if source in metric.sources)

    def resolve_series(self, series_name: str) -> tuple[Metric, str] | None:
        """Map a sample name (``x_bucket``, ``x_sum``, ``x``) to its metric and suffix."""
        return self._series.get(series_name)


CATALOGUE = Catalogue(GPU_METRICS + HOST_METRICS + EXPORTER_SELF_METRICS + SHARD_METRICS + ORCHESTRATOR_METRICS)

__all__ = ["CATALOGUE", "Catalogue"]
