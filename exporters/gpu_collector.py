"""The GPU exporter's ``prometheus_client`` collector: catalogue families filled from NVML readings."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any

from prometheus_client.metrics_core import Metric as Family

from observatory.catalogue import CATALOGUE
from observatory.catalogue.gpu import GPU_METRICS
from observatory.exporters.fresh_reading import FreshReading
from observatory.exporters.nvml_reader import COLLECTOR, NvmlReader, NvmlSnapshot
from observatory.exporters.self_metrics import ERROR, REASONS, TIMEOUT, CollectionLedger, Failure
from observatory.exposition import new_family
from observatory.metric import Source


class GpuCollector:
    """Exposes the GPU exporter's catalogue metrics, reading NVML on a worker thread.

    A scrape waits at most ``timeout`` seconds for a fresh reading; past that it serves the last
    good one, whose age (``themis_gpu_reading_age_seconds``) keeps growing, and counts a timeout.
    """

    def __init__(
        self,
        nvml: ModuleType | Any,
        shard: str,
        timeout: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._shard = shard
        self._clock = clock
        self._ledger = CollectionLedger([COLLECTOR], REASONS, clock)
        self._reader = NvmlReader(nvml, clock)
        self._fresh = FreshReading(self._read, timeout, name="nvml-reader")

    def _read(self) -> NvmlSnapshot:
        snapshot = self._reader.read()
        self._ledger.record(COLLECTOR, snapshot.duration, snapshot.failures)
        return snapshot

    def describe(self) -> Iterable[Family]:
        """The families this collector exposes, without touching NVML."""
        return [new_family(metric) for metric in CATALOGUE.by_source(Source.GPU_EXPORTER)]

    def collect(self) -> Iterable[Family]:
        """The latest GPU readings (fresh if NVML answers within the bound) and the self-metrics."""
        served = self._fresh.get()
        if served.error is not None:
            self._ledger.record(COLLECTOR, None, [Failure(COLLECTOR, ERROR, "read", served.error)])
        elif not served.fresh:
            self._ledger.record(COLLECTOR, None, [Failure(COLLECTOR, TIMEOUT, "read", "NVML read still running")])
        families = {metric.name: new_family(metric) for metric in GPU_METRICS}
        if served.reading is not None:
            self._fill(families, served.reading)
        return [*families.values(), *self._ledger.families()]

    def _fill(self, families: dict[str, Family], snapshot: NvmlSnapshot) -> None:
        now = self._clock()
        for gpu in snapshot.gpus:
            short = [self._shard, str(gpu.index)]
            families["themis_gpu_available"].add_metric(short, float(gpu.available))
            if gpu.read_at is not None:
                families["themis_gpu_reading_age_seconds"].add_metric(short, max(now - gpu.read_at, 0.0))
            if not gpu.available:
                continue
            full = [*short, gpu.uuid]
            families["themis_gpu_info"].add_metric([*full, gpu.name, snapshot.driver_version], 1.0)
            for name, value in gpu.values.items():
                families[name].add_metric(full, value)
