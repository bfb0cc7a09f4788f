"""The host exporter's ``prometheus_client`` collector: CPU, memory, network, connections and the shard process.

Each part reads through ``psutil`` (passed in, so tests substitute one that raises); a part that
raises is left out of that scrape and counted, and the other parts are still served.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from prometheus_client.metrics_core import Metric as Family

from observatory.catalogue import CATALOGUE
from observatory.catalogue.host import CPU_MODE, HOST_METRICS, INTERFACE
from observatory.exporters.self_metrics import ERROR, NOT_FOUND, CollectionLedger, Failure
from observatory.exporters.shard_process import find_program
from observatory.exposition import new_family
from observatory.metric import OTHER, Source

# (metric name, label values after the shard label, value)
Sample = tuple[str, tuple[str, ...], float]


@dataclass(frozen=True)
class Part:
    """One collector of the host exporter: its ``collector`` label and how it reads its samples."""

    collector: str
    read: Callable[[HostCollector], Iterable[Sample]]


def _cpu(host: HostCollector) -> Iterator[Sample]:
    times = host.psutil.cpu_times()
    for mode in CPU_MODE.values:
        # guest and guest_nice are already inside user and nice; other platforms lack some modes.
        if hasattr(times, mode):
            yield "themis_cpu_seconds_total", (mode,), getattr(times, mode)
    yield "themis_cpus", (), host.psutil.cpu_count()


def _memory(host: HostCollector) -> Iterator[Sample]:
    memory = host.psutil.virtual_memory()
    yield "themis_ram_usage_bytes", (), memory.total - memory.available
    yield "themis_ram_total_bytes", (), memory.total


def _network(host: HostCollector) -> Iterator[Sample]:
    counters = host.psutil.net_io_counters(pernic=True)
    names = sorted(counters)
    # Beyond the label's bound, the remaining interfaces are summed into "other".
    kept = names if len(names) <= INTERFACE.bound else names[: INTERFACE.bound - 1]
    sent = {name: counters[name].bytes_sent for name in kept}
    received = {name: counters[name].bytes_recv for name in kept}
    for name in names[len(kept) :]:
        sent[OTHER] = sent.get(OTHER, 0) + counters[name].bytes_sent
        received[OTHER] = received.get(OTHER, 0) + counters[name].bytes_recv
    for name in sent:
        yield "themis_network_sent_bytes_total", (name,), sent[name]
        yield "themis_network_received_bytes_total", (name,), received[name]


def _connections(host: HostCollector) -> Iterator[Sample]:
    yield "themis_active_connections", (), host.count_connections(host.port)


def _psutil_connections(host: HostCollector, port: int) -> int:
    # Listing only the shard's sockets skips psutil's walk over every process's fd table.
    process = host.process()
    sockets = process.net_connections(kind="tcp") if process else host.psutil.net_connections(kind="tcp")
    established = host.psutil.CONN_ESTABLISHED
    return sum(1 for conn in sockets if conn.status == established and conn.laddr and conn.laddr.port == port)


def _process(host: HostCollector) -> Iterator[Sample]:
    process = host.process()
    with process.oneshot():
        times = process.cpu_times()
        rss = process.memory_info().rss
    yield "themis_shard_process_cpu_seconds_total", (), times.user + times.system
    yield "themis_shard_process_resident_memory_bytes", (), rss


ALWAYS = (Part("cpu", _cpu), Part("memory", _memory), Part("network", _network))
CONNECTIONS = Part("connections", _connections)
PROCESS = Part("process", _process)


class HostCollector:
    """Exposes the host exporter's catalogue metrics, read through ``psutil`` on every scrape.

    ``port`` (the shard's service port) enables the connections part, and ``pid`` (the shard
    process) or ``program`` (the shard's program, looked for among the processes this exporter
    sees, again after that process ends) the process part; without them those metrics have no series. Connections are
    counted with ``count_connections(port)`` when given (the exporter passes the netlink
    counter on Linux), else through psutil.
    """

    def __init__(
        self,
        psutil: ModuleType | Any,
        shard: str,
        pid: int | None = None,
        port: int | None = None,
        count_connections: Callable[[int], int] | None = None,
        program: str | None = None,
    ) -> None:
        self.psutil = psutil
        self.port = port
        self.count_connections = count_connections or (lambda port: _psutil_connections(self, port))
        self._shard = shard
        self._pid = pid
        self._program = program
        self._process: Any = None
        self._parts = (*ALWAYS, *((CONNECTIONS,) if port else ()), *((PROCESS,) if pid or program else ()))
        self._ledger = CollectionLedger([part.collector for part in self._parts], (NOT_FOUND, ERROR))

    def process(self) -> Any:
        """The shard's ``psutil.Process`` (created once, so pid reuse is detected), or None without a pid or program.

        A process found by its program is looked for again once it is no longer running (the
        shard restarted); ``psutil.NoSuchProcess`` while none runs it.
        """
        if self._pid is not None:
            if self._process is None:
                self._process = self.psutil.Process(self._pid)
            return self._process
        if self._program is None:
            return None
        if self._process is None or not self._process.is_running():
            self._process = None
            self._process = find_program(self.psutil, self._program)
        return self._process

    def describe(self) -> Iterable[Family]:
        """The families this collector exposes, without reading anything."""
        return [new_family(metric) for metric in CATALOGUE.by_source(Source.HOST_EXPORTER)]

    def collect(self) -> Iterable[Family]:
        """Every part's samples (parts that fail are left out and counted) and the self-metrics."""
        families = {metric.name: new_family(metric) for metric in HOST_METRICS}
        for part in self._parts:
            started = time.perf_counter()
            try:
                samples = list(part.read(self))
            except Exception as error:
                # psutil raises OSError, its own Error subclasses and more; none may break a scrape.
                self._ledger.record(part.collector, time.perf_counter() - started, [self._failure(part, error)])
                continue
            self._ledger.record(part.collector, time.perf_counter() - started, ())
            for name, labels, value in samples:
                families[name].add_metric([self._shard, *labels], float(value))
        return [*families.values(), *self._ledger.families()]

    def _failure(self, part: Part, error: Exception) -> Failure:
        reason = NOT_FOUND if isinstance(error, self.psutil.NoSuchProcess) else ERROR
        return Failure(part.collector, reason, part.collector, f"{type(error).__name__}: {error}")
