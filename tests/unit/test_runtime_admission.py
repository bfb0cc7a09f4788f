"""The admission queue alone: first come first served, bounded in places and in time, left by hang-ups, closed."""

import asyncio

import pytest

from observatory.runtime.admission import AdmissionQueue, RefusedError


def run(scenario):
    return asyncio.run(scenario())


def test_requests_beyond_the_slots_wait_and_enter_in_arrival_order():
    async def scenario():
        queue = AdmissionQueue(slots=1, max_waiting=3, max_wait_s=5, retry_after_s=1)
        assert queue.try_enter()
        entered = []

        async def wait(n: int) -> None:
            await queue.enter()
            entered.append(n)

        waiters = [asyncio.ensure_future(wait(n)) for n in range(3)]
        await asyncio.sleep(0.01)
        assert (queue.in_flight, queue.waiting, entered) == (1, 3, [])
        for expected in ([0], [0, 1], [0, 1, 2]):
            queue.release()
            await asyncio.sleep(0.01)
            assert entered == expected and queue.in_flight == 1
        queue.release()
        assert (queue.in_flight, queue.waiting) == (0, 0)
        await asyncio.gather(*waiters)

    run(scenario)


def test_a_full_line_refuses_with_429_and_says_when_to_retry():
    async def scenario():
        queue = AdmissionQueue(slots=1, max_waiting=1, max_wait_s=5, retry_after_s=2)
        queue.try_enter()
        waiting = asyncio.ensure_future(queue.enter())
        await asyncio.sleep(0.01)
        assert queue.full
        with pytest.raises(RefusedError) as refused:
            await queue.enter()
        assert refused.value.status == 429 and refused.value.retry_after_s == 2
        queue.release()
        await waiting
        assert not queue.full

    run(scenario)


def test_a_wait_expected_past_the_bound_is_refused_at_once():
    async def scenario():
        queue = AdmissionQueue(slots=2, max_waiting=10, max_wait_s=3, retry_after_s=1)
        assert queue.try_enter() and queue.try_enter()
        queue.release(held_s=10.0)  # requests have held a slot for ~2 s on average (10 s weighted by 0.2)
        queue.release(held_s=10.0)  # now 3.6 s
        assert queue.try_enter() and queue.try_enter()
        assert queue.expected_wait_s(1) == pytest.approx(1.8)
        first = asyncio.ensure_future(queue.enter())  # expected 1.8 s: waits
        await asyncio.sleep(0.01)
        with pytest.raises(RefusedError) as refused:  # second in line: 3.6 s > 3 s
            await queue.enter()
        assert refused.value.status == 429 and refused.value.retry_after_s == 2
        first.cancel()

    run(scenario)


def test_a_wait_that_runs_out_is_a_429_and_leaves_the_line():
    async def scenario():
        queue = AdmissionQueue(slots=1, max_waiting=5, max_wait_s=0.05, retry_after_s=1)
        queue.try_enter()
        with pytest.raises(RefusedError) as refused:
            await queue.enter()
        assert refused.value.status == 429 and queue.waiting == 0

    run(scenario)


def test_a_cancelled_waiter_leaves_the_line_and_the_slot_goes_to_the_next():
    async def scenario():
        queue = AdmissionQueue(slots=1, max_waiting=5, max_wait_s=5, retry_after_s=1)
        queue.try_enter()
        leaving = asyncio.ensure_future(queue.enter())
        staying = asyncio.ensure_future(queue.enter())
        await asyncio.sleep(0.01)
        leaving.cancel()
        await asyncio.sleep(0.01)
        assert queue.waiting == 1
        queue.release()
        await asyncio.wait_for(staying, 1)
        assert queue.in_flight == 1

    run(scenario)


def test_closing_answers_every_waiter_with_503_and_refuses_new_requests():
    async def scenario():
        queue = AdmissionQueue(slots=1, max_waiting=5, max_wait_s=60, retry_after_s=1)
        queue.try_enter()
        waiters = [asyncio.ensure_future(queue.enter()) for _ in range(3)]
        await asyncio.sleep(0.01)
        queue.close("the shard is shutting down")
        answers = await asyncio.gather(*waiters, return_exceptions=True)
        assert [(a.status, a.message) for a in answers] == [(503, "the shard is shutting down")] * 3
        assert not queue.try_enter()
        with pytest.raises(RefusedError):
            await queue.enter()

    run(scenario)
