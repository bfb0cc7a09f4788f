"""The search request queue: concurrent queries are searched together in micro-batches, under supervision."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field

import numpy as np

from observatory.runtime.errors import ShardError, unavailable
from observatory.runtime.vectors import VectorIndex

log = logging.getLogger(__name__)

BatchObserver = Callable[[int, float], None]


@dataclass
class _Pending:
    queries: np.ndarray
    k: int
    future: asyncio.Future = field(repr=False)


class SearchBatcher:
    """Collects queries for up to ``max_wait_s`` or ``max_batch`` rows, then searches them in one call.

    ``on_batch(rows, seconds)`` is told the size and index time of every micro-batch. The index is
    searched in ``executor``. If the worker crashes, the batch it held is answered with a 500 and the
    worker restarts; after ``max_restarts`` crashes the batcher gives up and reports itself failed
    (the shard turns unhealthy), answering every search 503 rather than leaving one waiting.
    """

    def __init__(
        self,
        index: VectorIndex,
        max_batch: int,
        max_wait_s: float,
        on_batch: BatchObserver,
        executor: Executor | None = None,
        max_restarts: int = 3,
    ) -> None:
        self._index = index
        self._max_batch = max_batch
        self._max_wait_s = max_wait_s
        self._on_batch = on_batch
        self._executor = executor
        self._max_restarts = max_restarts
        self.restarts = 0
        self.failed = False
        self._queue: asyncio.Queue[_Pending] | None = None
        self._worker: asyncio.Task | None = None
        self._batch: list[_Pending] = []

    async def start(self) -> None:
        """Start the worker on the running event loop."""
        self._queue = asyncio.Queue()
        self._spawn()

    async def stop(self) -> None:
        """Stop the worker; queries still queued or collected into a batch are answered 503."""
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        self._fail_all(unavailable("the shard is shutting down"))

    async def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Distances and ids for each query row, searched in whatever micro-batch forms."""
        if self.failed:
            raise unavailable("vector search has failed on this shard")
        if self._queue is None or self._worker is None:
            raise unavailable("the search queue is not running")
        future = asyncio.get_running_loop().create_future()
        await self._queue.put(_Pending(queries, k, future))
        return await future

    def _spawn(self) -> None:
        self._worker = asyncio.create_task(self._run(), name="search-batcher")
        self._worker.add_done_callback(self._supervise)

    def _supervise(self, worker: asyncio.Task) -> None:
        if worker.cancelled() or worker is not self._worker:
            return
        log.error("the search batcher crashed", exc_info=worker.exception())
        for pending in self._batch:
            _settle(pending, ShardError(500, "the search failed inside the shard; see the shard's log"))
        self._batch = []
        if self.restarts >= self._max_restarts:
            self.failed = True
            self._worker = None
            log.error("the search batcher crashed %d times; the shard reports itself unhealthy", self.restarts + 1)
            self._fail_all(unavailable("vector search has failed on this shard"))
            return
        self.restarts += 1
        self._spawn()

    def _fail_all(self, error: Exception) -> None:
        for pending in self._batch:
            _settle(pending, error)
        self._batch = []
        while self._queue is not None and not self._queue.empty():
            _settle(self._queue.get_nowait(), error)

    async def _run(self) -> None:
        assert self._queue is not None
        while True:
            self._batch = [await self._queue.get()]
            rows = len(self._batch[0].queries)
            deadline = time.monotonic() + self._max_wait_s
            while rows < self._max_batch:
                remaining = deadline - time.monotonic()
                try:
                    pending = (
                        self._queue.get_nowait()
                        if remaining <= 0
                        else await asyncio.wait_for(self._queue.get(), remaining)
                    )
                except (asyncio.QueueEmpty, TimeoutError):
                    break
                self._batch.append(pending)
                rows += len(pending.queries)
            await self._search(self._batch, rows)
            self._batch = []

    async def _search(self, batch: list[_Pending], rows: int) -> None:
        k = max(pending.k for pending in batch)
        stacked = np.concatenate([pending.queries for pending in batch])
        started = time.perf_counter()
        try:
            loop = asyncio.get_running_loop()
            distances, ids = await loop.run_in_executor(self._executor, self._index.search, stacked, k)
        except Exception as error:  # handed to each waiting request, which reports it
            for pending in batch:
                _settle(pending, error)
            return
        self._on_batch(rows, time.perf_counter() - started)
        offset = 0
        for pending in batch:
            n = len(pending.queries)
            if not pending.future.done():
                rows_of = slice(offset, offset + n)
                pending.future.set_result((distances[rows_of, : pending.k], ids[rows_of, : pending.k]))
            offset += n


def _settle(pending: _Pending, error: Exception) -> None:
    if not pending.future.done():
        pending.future.set_exception(error)
