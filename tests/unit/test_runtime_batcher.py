"""The search batcher under supervision: a crashed worker answers its batch, restarts, and gives up in the end."""

import asyncio

import numpy as np
import pytest

from observatory.runtime.batcher import SearchBatcher
from observatory.runtime.errors import ShardError
from observatory.runtime.vectors import VectorIndex

DIM = 8


def _index() -> VectorIndex:
    index = VectorIndex(DIM, kind="flat")
    index.add(np.eye(DIM, dtype=np.float32), [None] * DIM)
    return index


class CrashingObserver:
    """A batch observer that raises for its first ``crashes`` batches (a bug in the worker's own code)."""

    def __init__(self, crashes: int) -> None:
        self.crashes = crashes
        self.batches = 0

    def __call__(self, rows: int, seconds: float) -> None:
        self.batches += 1
        if self.batches <= self.crashes:
            raise RuntimeError("a bug in the batch bookkeeping")


async def _search(batcher: SearchBatcher, row: int) -> np.ndarray:
    query = np.eye(DIM, dtype=np.float32)[row : row + 1]
    _, ids = await asyncio.wait_for(batcher.search(query, 1), timeout=5)  # a hang fails the test
    return ids


def test_a_crashed_worker_answers_its_batch_and_restarts():
    async def scenario():
        batcher = SearchBatcher(_index(), max_batch=4, max_wait_s=0.001, on_batch=CrashingObserver(1))
        await batcher.start()
        with pytest.raises(ShardError) as crashed:
            await _search(batcher, 0)
        assert crashed.value.status == 500 and "see the shard's log" in crashed.value.message
        assert (await _search(batcher, 3))[0][0] == 4  # ids start at 1
        assert (batcher.restarts, batcher.failed) == (1, False)
        await batcher.stop()

    asyncio.run(scenario())


def test_a_worker_that_keeps_crashing_fails_the_batcher_and_every_search_is_answered():
    async def scenario():
        batcher = SearchBatcher(_index(), max_batch=1, max_wait_s=0.0, on_batch=CrashingObserver(99), max_restarts=2)
        await batcher.start()
        answers = await asyncio.gather(*(_search(batcher, n % DIM) for n in range(6)), return_exceptions=True)
        assert all(isinstance(answer, ShardError) for answer in answers)
        assert {answer.status for answer in answers} == {500, 503}
        assert batcher.failed and batcher.restarts == 2
        with pytest.raises(ShardError) as refused:
            await _search(batcher, 0)
        assert refused.value.status == 503
        await batcher.stop()

    asyncio.run(scenario())


def test_stop_answers_queued_searches_with_503():
    async def scenario():
        batcher = SearchBatcher(_index(), max_batch=64, max_wait_s=10.0, on_batch=CrashingObserver(0))
        await batcher.start()
        waiting = asyncio.ensure_future(_search(batcher, 0))
        await asyncio.sleep(0.05)  # collected into a batch that waits for more rows
        second = asyncio.ensure_future(_search(batcher, 1))
        await asyncio.sleep(0.01)
        await batcher.stop()
        for search in (waiting, second):
            with pytest.raises(ShardError) as refused:
                await search
            assert refused.value.status == 503

    asyncio.run(scenario())
