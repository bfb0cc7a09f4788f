"""The search request queue: concurrent queries are searched together in micro-batches."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from observatory.runtime.vectors import VectorIndex

BatchObserver = Callable[[int, float], None]


@dataclass
class _Pending:
    queries: np.ndarray
    k: int
    future: asyncio.Future = field(repr=False)


class SearchBatcher:
    """Collects queries for up to ``max_wait_s`` or ``max_batch`` rows, then searches them in one call.

    ``on_batch(rows, seconds)`` is told the size and index time of every micro-batch.
    """

    def __init__(self, index: VectorIndex, max_batch: int, max_wait_s: float, on_batch: BatchObserver) -> None:
        self._index = index
        self._max_batch = max_batch
        self._max_wait_s = max_wait_s
        self._on_batch = on_batch
        self._queue: asyncio.Queue[_Pending] | None = None
        self._worker: asyncio.Task | None = None

    async def start(self) -> None:
        """Start the worker on the running event loop."""
        self._queue = asyncio.Queue()
        self._worker = asyncio.create_task(self._run(), name="search-batcher")

    async def stop(self) -> None:
        """Stop the worker; queries still queued fail."""
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        while self._queue is not None and not self._queue.empty():
            self._queue.get_nowait().future.cancel()

    async def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Distances and ids for each query row, searched in whatever micro-batch forms."""
        if self._queue is None:
            raise RuntimeError("the search batcher is not started")
        future = asyncio.get_running_loop().create_future()
        await self._queue.put(_Pending(queries, k, future))
        return await future

    async def _run(self) -> None:
        assert self._queue is not None
        while True:
            batch = [await self._queue.get()]
            rows = len(batch[0].queries)
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
                batch.append(pending)
                rows += len(pending.queries)
            await self._search(batch, rows)

    async def _search(self, batch: list[_Pending], rows: int) -> None:
        k = max(pending.k for pending in batch)
        stacked = np.concatenate([pending.queries for pending in batch])
        started = time.perf_counter()
        try:
            distances, ids = await asyncio.to_thread(self._index.search, stacked, k)
        except Exception as error:  # handed to each waiting request, which reports it
            for pending in batch:
                if not pending.future.done():
                    pending.future.set_exception(error)
            return
        self._on_batch(rows, time.perf_counter() - started)
        offset = 0
        for pending in batch:
            n = len(pending.queries)
            if not pending.future.done():
                rows_of = slice(offset, offset + n)
                pending.future.set_result((distances[rows_of, : pending.k], ids[rows_of, : pending.k]))
            offset += n
