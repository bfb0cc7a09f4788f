"""The inference path: a turn at the model, the completion in the llama.cpp executor, its serving signals.

One llama.cpp context generates one sequence at a time, so requests take turns at the model in
arrival order (an asyncio lock is FIFO); waiting for a turn is an await, never a blocked thread.
A request whose client hangs up while it waits for its turn leaves at once (its admission slot
with it); one that is generating stops after the token in progress.
Time to first token, time per output token and queue time are measured from the request's
arrival at the shard, before it waited in the admission queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from functools import partial

from observatory.runtime.adapters import AdapterCache
from observatory.runtime.engine import Completion, LlamaEngine, Piece
from observatory.runtime.errors import INSUFFICIENT_STORAGE, ShardError, error_body, vram_body
from observatory.runtime.generation import GenerationRequest
from observatory.runtime.metrics import ShardMetrics
from observatory.runtime.outcomes import outcome_of
from observatory.runtime.schemas import InferenceResponse, StageTimings
from observatory.runtime.vram import VRAMLimitError

log = logging.getLogger(__name__)

# The text/event-stream answer to a request with "stream": true.
EVENT_STREAM = "text/event-stream"


@dataclass(frozen=True)
class StreamEnd:
    """How a stream of generated text ended: the answer and its finish reason, or the refusal that stopped it
    (a :class:`ShardError` or a :class:`VRAMLimitError`)."""

    response: InferenceResponse | None = None
    finish_reason: str | None = None
    error: ShardError | VRAMLimitError | None = None


class InferenceRunner:
    """Runs completions one at a time on the engine and records each one where it happens."""

    def __init__(
        self,
        engine: LlamaEngine,
        adapters: AdapterCache,
        executor: Executor,
        metrics: ShardMetrics,
        model_name: str,
        on_adapters_changed: Callable[[], None],
    ) -> None:
        self._engine = engine
        self._adapters = adapters
        self._executor = executor
        self._metrics = metrics
        self._model_name = model_name
        self._on_adapters_changed = on_adapters_changed
        self._turn = asyncio.Lock()
        self._generating: asyncio.Task | None = None  # the task holding the turn
        # One request generates at a time: the one holding the turn.
        metrics.track_inference(lambda: int(self._turn.locked()))

    async def run(
        self,
        request: GenerationRequest,
        arrived: float,
        on_text: Callable[[Piece], None] | None = None,
        cancelled: threading.Event | None = None,
        sent_first: list[float] | None = None,
    ) -> tuple[InferenceResponse, str]:
        """One completion and why it finished; a failure of the engine is a 500 that names no internals.

        ``sent_first`` holds, for a streamed answer, when the event loop had its first token to send: the
        time to first token its client lives through (see :meth:`pieces`).
        """
        async with self._turn:
            started = time.perf_counter()
            self._generating = asyncio.current_task()
            try:
                work = partial(self._complete, request, on_text, cancelled)
                completion, hits = await asyncio.get_running_loop().run_in_executor(self._executor, work)
            except ShardError as error:
                if error.status >= 500:
                    self._metrics.inference_finished("error")
                raise
            except VRAMLimitError as error:
                self._metrics.inference_finished("error")
                error.field = "adapters"  # an adapter the request names did not fit
                raise
            except Exception:
                log.exception("inference failed")
                self._metrics.inference_finished("error")
                raise ShardError(500, "the model failed to generate a completion; see the shard's log") from None
            finally:
                self._generating = None
        seconds = time.perf_counter() - arrived
        stages = {
            "tokenize": completion.tokenize_seconds,
            "prompt_eval": completion.prompt_eval_seconds,
            "generation": completion.generation_seconds,
        }
        first_at = sent_first[0] if sent_first else completion.first_token_at
        self._record(completion, hits, stages, seconds, started - arrived, arrived, first_at)
        response = InferenceResponse(
            text=completion.text,
            model=self._model_name,
            prompt_tokens=completion.prompt_tokens,
            completion_tokens=completion.completion_tokens,
            tokens_per_second=completion.tokens_per_second,
            kv_cache_usage_ratio=completion.kv_cache_usage_ratio,
            timings=StageTimings(**stages, total=seconds, adapter_switch=completion.switch_seconds),
            adapters_used=list(completion.adapters),
        )
        return response, completion.finish_reason

    async def run_until_gone(
        self, request: GenerationRequest, arrived: float, gone: Callable[[], Awaitable[None]]
    ) -> tuple[InferenceResponse, str] | None:
        """:meth:`run`, or None once ``gone()`` returns first (the client hung up): a request still waiting
        for its turn leaves the line at once, a generation stops after the token in progress."""
        cancelled = threading.Event()
        running = asyncio.ensure_future(self.run(request, arrived, None, cancelled))
        watching = asyncio.ensure_future(gone())
        try:
            await asyncio.wait((running, watching), return_when=asyncio.FIRST_COMPLETED)
            if not running.done():
                self._leave(running, cancelled)
            await asyncio.wait((running,))
            if running.cancelled():
                return None
            response, finish_reason = running.result()
            return None if finish_reason == "cancelled" else (response, finish_reason)
        finally:
            watching.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watching

    def _leave(self, running: asyncio.Task, cancelled: threading.Event) -> None:
        """The client of ``running`` hung up before it finished."""
        if running is self._generating:
            cancelled.set()  # the engine's thread stops at its next token and records the cancel itself
            return
        # Still waiting for its turn: it leaves the line now instead of when its turn would have come.
        running.cancel()
        log.info("inference cancelled by its client while it waited for its turn at the model")
        self._metrics.inference_finished("cancelled")

    def _complete(
        self, request: GenerationRequest, on_text: Callable[[Piece], None] | None, cancelled: threading.Event | None
    ) -> tuple[Completion, int]:
        with self._adapters.using(request.adapters) as resolution:
            completion = self._engine.complete(
                request.prompt, request.max_tokens, request.temperature, resolution.applied, on_text, cancelled,
                request.sampling, request.templated,
            )  # fmt: skip
        return completion, resolution.cache_hits

    def _record(
        self, completion: Completion, hits: int, stages: dict[str, float], seconds: float, queued_s: float,
        arrived: float, first_at: float | None,
    ) -> None:  # fmt: skip
        first_token_s = first_at - arrived if first_at is not None else None
        # A generation its client abandoned is no success: it stays out of the request count and the
        # latencies the SLOs read, and is counted by its finish reason alone.
        if completion.finish_reason == "cancelled":
            log.info("inference cancelled by its client after %d tokens", completion.completion_tokens)
        else:
            self._metrics.inference(
                seconds,
                completion.prompt_tokens,
                completion.completion_tokens,
                completion.evaluated_prompt_tokens,
                stages,
                completion.kv_cache_usage_ratio,
            )
            self._metrics.serving(queued_s, first_token_s, completion.seconds_per_output_token)
        self._metrics.inference_finished(completion.finish_reason)
        if completion.adapters or completion.switch_seconds is not None:
            self._metrics.adapters_used(completion.adapters, hits, completion.switch_seconds)
            self._on_adapters_changed()

    async def pieces(self, request: GenerationRequest, arrived: float) -> AsyncIterator[Piece | StreamEnd]:
        """The text of one completion piece by piece as it is generated, then one :class:`StreamEnd`.

        Both APIs' streams are made of these; a client that hangs up (the iterator is closed) stops the
        generation after the token in progress.
        """
        loop = asyncio.get_running_loop()
        pieces: asyncio.Queue[Piece | None] = asyncio.Queue()
        cancelled = threading.Event()
        sent_first: list[float] = []

        def deliver(piece: Piece) -> None:
            # The generating thread can hold the GIL for a whole short answer, so a token is sampled well
            # before the loop can send it: the client's first token is when the loop has it.
            if not sent_first:
                sent_first.append(time.perf_counter())
            pieces.put_nowait(piece)

        def on_text(piece: Piece) -> None:
            loop.call_soon_threadsafe(deliver, piece)

        running = asyncio.ensure_future(self.run(request, arrived, on_text, cancelled, sent_first))
        running.add_done_callback(lambda _: pieces.put_nowait(None))
        try:
            while (piece := await pieces.get()) is not None:
                yield piece
            try:
                response, finish_reason = await running
            except ShardError as error:
                self._stream_failed(error.status)
                yield StreamEnd(error=error)
            except VRAMLimitError as error:
                self._stream_failed(INSUFFICIENT_STORAGE)
                yield StreamEnd(error=error)
            else:
                yield StreamEnd(response, finish_reason)
        finally:
            if not running.done():  # the client left
                self._leave(running, cancelled)
                running.add_done_callback(_retrieve)

    async def stream(self, request: GenerationRequest, arrived: float) -> AsyncIterator[str]:
        """The native API's server-sent events: a ``token`` event per piece of text as it is generated,
        then ``done`` with the whole answer (as the non-streaming response, plus ``finish_reason``) or
        ``error``."""
        # Closing this stream (the client left) closes the pieces at once, which stops the generation.
        async with contextlib.aclosing(self.pieces(request, arrived)) as pieces:
            async for item in pieces:
                if isinstance(item, Piece):
                    yield _event("token", {"text": item.text})
                elif isinstance(item.error, VRAMLimitError):
                    yield _event("error", vram_body(item.error))
                elif isinstance(item.error, ShardError):
                    yield _event("error", error_body(item.error.message, item.error.field))
                else:
                    assert item.response is not None
                    yield _event("done", item.response.model_dump() | {"finish_reason": item.finish_reason})

    def _stream_failed(self, status: int) -> None:
        # The answer began with 200 before the generation failed, so the outcome middleware leaves it to the
        # shard: it is counted here with the status the same failure answers a whole request with.
        self._metrics.request_failed("inference", outcome_of(status))


def _retrieve(task: asyncio.Future) -> None:
    with contextlib.suppress(asyncio.CancelledError, Exception):
        task.result()


def _event(name: str, data: dict) -> str:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n"
