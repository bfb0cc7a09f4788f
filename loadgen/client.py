"""The open-loop engine: requests leave at their planned times, whatever the server is doing.

A dispatcher puts each request on a queue at its due time; ``workers`` tasks (the most requests in
flight at once) take them off and send them over a pool of keep-alive connections (one per worker).
A request that finds no free worker at its due time waits in the queue and is sent late, its latency
still measured from the due time (coordinated omission corrected, as wrk2 does); a send more than
``late_after_s`` behind its due time is counted as late (k6's dropped iterations, which k6 would not
send at all). Requests still queued ``drain_s`` after the last due time are never sent and are
counted as unsent.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from observatory.loadgen.profiles import Call
from observatory.loadgen.recorder import Outcome, Recorder
from observatory.loadgen.streaming import EventReader, StreamedRequest, streamed
from observatory.loadgen.transport import Pool

# Final task states: seed 003 names success "completed", the orchestrator's durable store "succeeded".
TASK_DONE = {"completed": True, "succeeded": True, "failed": False}


class TargetError(RuntimeError):
    """The target could not be used; the message is one line for the user."""


@dataclass(frozen=True)
class RunOptions:
    """How the engine runs: concurrency, timeouts, lateness threshold and task polling."""

    workers: int = 64
    timeout_s: float = 30.0
    drain_s: float = 5.0
    late_after_s: float = 0.010
    poll_s: float = 1.0


async def _poll_task(pool: Pool, payload: bytes, poll_s: float, timeout_s: float) -> tuple[int, str]:
    """Seed 003's client: poll a submitted task until it completes or fails, for at most ``timeout_s``."""
    try:
        task_id = json.loads(payload)["task_id"]
    except (ValueError, KeyError, TypeError):
        return 200, "no task_id in the answer"
    deadline = time.monotonic() + timeout_s
    while True:
        if time.monotonic() > deadline:
            return 0, "task timeout"
        await asyncio.sleep(poll_s)
        status, body = await pool.request("GET", f"/api/v1/tasks/{task_id}")
        if status >= 400:
            return status, ""
        state = json.loads(body).get("status")
        if state in TASK_DONE:
            return 200, "" if TASK_DONE[state] else "task failed"


async def execute(
    pool: Pool, call: Call, poll_s: float = 1.0, timeout_s: float = 30.0,
    listener: Callable[[bytes], None] | None = None,
) -> tuple[int, str]:  # fmt: skip
    """Send one call; its HTTP status (0 when none came) and an error word when it failed without one.

    ``listener`` sees the answer's body piece by piece as it arrives (a streamed answer's events).
    """
    try:
        body = None if call.body is None else json.dumps(call.body).encode()
        status, payload = await pool.request(call.method, call.path, body, listener)
        if call.task and status < 300:
            return await _poll_task(pool, payload, poll_s, timeout_s)
        return status, ""
    except TimeoutError:
        return 0, "timeout"
    except OSError as error:
        return 0, type(error).__name__
    except (ValueError, AttributeError):
        return 0, "invalid JSON in the answer"


async def prepare(pool: Pool, calls: list[Call]) -> None:
    """Send the set-up calls a profile needs; a refusal ends the run with one line."""
    for call in calls:
        status, error = await execute(pool, call)
        if not 200 <= status < 300:
            raise TargetError(f"set-up {call.method} {call.path} answered {status or error}")


async def describe(base: str, timeout_s: float = 10.0) -> tuple[set[str], tuple[str, ...]]:
    """The target's API paths (from its OpenAPI schema) and the LoRA adapters it offers."""
    pool = Pool(base, 1, timeout_s)
    try:
        status, body = await pool.request("GET", "/openapi.json")
        if status != 200:
            raise TargetError(f"{base}/openapi.json answered {status}")
        paths = set(json.loads(body).get("paths", {}))
        adapters: tuple[str, ...] = ()
        if "/api/v1/lora" in paths:
            status, body = await pool.request("GET", "/api/v1/lora")
            if status == 200:
                adapters = tuple(json.loads(body).get("available", ()))
    except (OSError, TimeoutError, ValueError, AttributeError) as error:
        raise TargetError(f"cannot read {base}/openapi.json: {type(error).__name__} {error}".strip()) from error
    finally:
        pool.close()
    return paths, adapters


def _stream_outcome(reader: EventReader, start: float, outcome: Outcome) -> tuple[str, StreamedRequest | None]:
    """A streamed answer's figures, or why it failed although its status was a success."""
    timing = reader.timing
    if timing.error:
        return timing.error, None
    if not timing.token_at:
        return "no tokens in the stream", None
    return "", streamed(timing, start, outcome.due_s, outcome.sent_s, outcome.done_s)


async def first_model(base: str, timeout_s: float = 10.0) -> str:
    """The first model an OpenAI-compatible server lists at ``/v1/models``."""
    pool = Pool(base, 1, timeout_s)
    try:
        status, body = await pool.request("GET", "/v1/models")
        models = json.loads(body).get("data") if status == 200 else None
        if not models:
            raise TargetError(f"{base}/v1/models answered {status} with no model to ask for (give --model)")
        return str(models[0]["id"])
    except (OSError, TimeoutError, ValueError, AttributeError, KeyError, TypeError) as error:
        raise TargetError(f"cannot read {base}/v1/models: {type(error).__name__} {error}".strip()) from error
    finally:
        pool.close()


class Progress:
    """What the progress display reads while a run goes on."""

    def __init__(self, total: int, show: Callable[[int, float, int], None] | None) -> None:
        self.total = total
        self._show = show

    async def follow(self, recorder: Recorder, every_s: float = 0.25) -> None:
        """Every ``every_s``: done, QPS over the last second and failures so far."""
        if self._show is None:
            return
        window: list[tuple[float, int]] = []
        while True:
            now, done = time.monotonic(), len(recorder.outcomes)
            window = [*(item for item in window if now - item[0] <= 1.0), (now, done)]
            span = now - window[0][0]
            self._show(done, (done - window[0][1]) / span if span > 0 else 0.0, recorder.failures)
            await asyncio.sleep(every_s)


async def run_plan(
    base: str, plan: np.ndarray, calls: Callable[[int], Call], options: RunOptions, recorder: Recorder,
    progress: Progress | None = None, setup: list[Call] | None = None,
) -> float:  # fmt: skip
    """Send every planned request and record it; returns the seconds from the first due time to the last answer."""
    # perf_counter, not loop.time(): uvloop's clock is cached at millisecond resolution.
    clock = time.perf_counter
    due = plan.tolist()
    pool = Pool(base, options.workers, options.timeout_s)
    try:
        await prepare(pool, setup or [])
        queue: asyncio.Queue[int] = asyncio.Queue()
        start = clock() + 0.05
        stop_sending = start + (due[-1] if due else 0.0) + options.drain_s
        last_done = start

        async def dispatch() -> None:
            for number, offset in enumerate(due):
                delay = start + offset - clock()
                if delay > 0:
                    await asyncio.sleep(delay)
                queue.put_nowait(number)

        async def work() -> None:
            nonlocal last_done
            while True:
                number = await queue.get()
                sent = clock()
                if sent > stop_sending:
                    recorder.unsent += 1
                    queue.task_done()
                    continue
                call = calls(number)
                reader = EventReader() if call.stream else None
                listener = reader.feed if reader else None
                status, error = await execute(pool, call, options.poll_s, options.timeout_s, listener)
                last_done = clock()
                outcome = Outcome(due[number], sent - start, last_done - start, call.kind, status, error)
                if reader is not None and outcome.ok:
                    outcome.error, outcome.stream = _stream_outcome(reader, start, outcome)
                recorder.add(outcome)
                queue.task_done()

        workers = [asyncio.create_task(work()) for _ in range(options.workers)]
        watcher = asyncio.create_task(progress.follow(recorder)) if progress else None
        try:
            await dispatch()
            await queue.join()
        finally:
            for task in [*workers, *([watcher] if watcher else [])]:
                task.cancel()
            await asyncio.gather(*workers, *([watcher] if watcher else []), return_exceptions=True)
    finally:
        pool.close()
    return max(last_done - start, 1e-9)
