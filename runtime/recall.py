"""Recall of the served index, measured in the background after it changes, never on a request's path."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import Executor

from observatory.runtime.vectors import VectorIndex

log = logging.getLogger(__name__)


class RecallMonitor:
    """Measures recall@10 of ``index`` on ``sample`` queries in ``executor`` after each change, at most
    once per ``interval_s``, and tells ``on_recall(ratio)``."""

    def __init__(
        self, index: VectorIndex, sample: int, interval_s: float, executor: Executor, on_recall: Callable[[float], None]
    ) -> None:
        self._index = index
        self._sample = sample
        self._interval_s = interval_s
        self._executor = executor
        self._on_recall = on_recall
        self._changed = asyncio.Event()
        self._task: asyncio.Task | None = None

    def changed(self) -> None:
        """The index changed: measure again when the interval allows."""
        self._changed.set()

    def start(self) -> None:
        """Start measuring on the running event loop."""
        self._task = asyncio.create_task(self._run(), name="recall-monitor")

    async def stop(self) -> None:
        """Stop measuring."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._changed.wait()
            self._changed.clear()
            try:
                recall = await loop.run_in_executor(self._executor, self._index.recall_at, self._sample)
            except Exception:  # a failed measurement leaves the last value; the next change tries again
                log.exception("measuring the index's recall failed")
            else:
                if recall is not None:
                    self._on_recall(recall)
            await asyncio.sleep(self._interval_s)
