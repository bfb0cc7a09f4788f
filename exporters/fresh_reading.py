"""A reading taken on a worker thread, so that a caller never waits on a hung read beyond a bound."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class Served(Generic[T]):
    """What a caller gets: the latest good reading (None before the first), whether a read completed within
    the bound, and the error of that read if it raised instead of returning."""

    reading: T | None
    fresh: bool
    error: str | None = None


class FreshReading(Generic[T]):
    """Runs ``read`` on one worker thread, at most one call in flight, and waits for it at most ``timeout`` s.

    A C call (NVML) that hangs cannot be interrupted from Python; the worker stays stuck in it
    while callers keep getting the last completed reading, and no second read piles up behind
    it. Concurrent callers share the read in flight.
    """

    def __init__(self, read: Callable[[], T], timeout: float, name: str = "reader") -> None:
        self._read = read
        self._timeout = timeout
        self._name = name
        self._cond = threading.Condition()
        self._latest: T | None = None
        self._error: str | None = None
        self._completed = 0
        self._requested = False
        self._in_flight = False
        self._worker: threading.Thread | None = None

    def get(self) -> Served[T]:
        """A reading that completed after this call started, or the last one if none did within the bound."""
        with self._cond:
            if self._worker is None:
                self._worker = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._worker.start()
            seen = self._completed
            if not self._in_flight:
                self._requested = True
                self._cond.notify_all()
            fresh = self._cond.wait_for(lambda: self._completed > seen, timeout=self._timeout)
            return Served(self._latest, fresh, self._error if fresh else None)

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._requested)
                self._requested = False
                self._in_flight = True
            error = None
            try:
                reading = self._read()
            except Exception as exc:
                # The read function reports its own failures; this guards the worker against bugs, and
                # the caller learns of it so that a stale reading is never served as a fresh one.
                log.exception("%s: read failed unexpectedly", self._name)
                reading, error = self._latest, f"{type(exc).__name__}: {exc}"
            with self._cond:
                self._latest = reading
                self._error = error
                self._completed += 1
                self._in_flight = False
                self._cond.notify_all()
