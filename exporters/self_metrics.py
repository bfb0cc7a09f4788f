"""Bookkeeping behind the self-metrics every exporter exposes about its own collectors."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from prometheus_client.metrics_core import Metric as Family

from observatory.catalogue import CATALOGUE
from observatory.exposition import new_family

log = logging.getLogger(__name__)

UNSUPPORTED = "unsupported"
LOST = "lost"
TIMEOUT = "timeout"
NOT_FOUND = "not_found"
NO_LIBRARY = "no_library"
ERROR = "error"

_DURATION = CATALOGUE["themis_exporter_collect_duration_seconds"]
_ERRORS = CATALOGUE["themis_exporter_collection_errors_total"]
_UP = CATALOGUE["themis_exporter_collector_up"]
_LAST_SUCCESS = CATALOGUE["themis_exporter_last_success_timestamp_seconds"]
SELF_METRICS = (_DURATION, _ERRORS, _UP, _LAST_SUCCESS)
REASONS = _ERRORS.label("reason").values


@dataclass(frozen=True)
class Failure:
    """One part of a read that failed: which collector, why (a ``reason`` label value) and what."""

    collector: str
    reason: str
    subject: str
    detail: str = ""


class CollectionLedger:
    """Per-collector durations, error counts, up flags and last-success times, safe across threads.

    A failure whose reason is ``unsupported`` is counted but leaves the collector up: the
    hardware lacks the field, nothing is broken. Each distinct (collector, reason, subject)
    is logged once, so a board without a power sensor does not log on every scrape.
    """

    def __init__(
        self, collectors: Sequence[str], reasons: Sequence[str], clock: Callable[[], float] = time.time
    ) -> None:
        self._collectors = tuple(collectors)
        self._clock = clock
        self._lock = threading.Lock()
        self._duration: dict[str, float] = {}
        self._up: dict[str, bool] = {}
        self._last_success: dict[str, float] = {}
        # Counters start at zero for every reason a collector can report, so increase() sees the first failure.
        self._errors = {(collector, reason): 0 for collector in self._collectors for reason in reasons}
        self._logged: set[tuple[str, str, str]] = set()

    def record(self, collector: str, duration: float | None, failures: Iterable[Failure]) -> None:
        """Record one read of ``collector``; ``duration`` is None when the read did not finish."""
        failures = list(failures)
        up = all(failure.reason == UNSUPPORTED for failure in failures)
        with self._lock:
            if duration is not None:
                self._duration[collector] = duration
            self._up[collector] = up
            if up:
                self._last_success[collector] = self._clock()
            for failure in failures:
                key = (failure.collector, failure.reason)
                self._errors[key] = self._errors.get(key, 0) + 1
                kind = (failure.collector, failure.reason, failure.subject)
                if kind not in self._logged:
                    self._logged.add(kind)
                    log.warning("%s: %s %s %s", *kind, failure.detail)

    def families(self) -> Iterable[Family]:
        """The four self-metric families, one series per collector that has been read."""
        duration, errors, up, last_success = (new_family(metric) for metric in SELF_METRICS)
        with self._lock:
            for collector in self._collectors:
                if collector in self._duration:
                    duration.add_metric([collector], self._duration[collector])
                if collector in self._up:
                    up.add_metric([collector], float(self._up[collector]))
                if collector in self._last_success:
                    last_success.add_metric([collector], self._last_success[collector])
            for (collector, reason), count in sorted(self._errors.items()):
                errors.add_metric([collector, reason], float(count))
        return duration, errors, up, last_success
