"""The inference path: a turn at the model, the completion in the llama.cpp executor, its serving signals.

One llama.cpp context generates one sequence at a time, so requests take turns at the model in
arrival order (an asyncio lock is FIFO); waiting for a turn is an await, never a blocked thread.
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
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor
from functools import partial

from observatory.runtime.adapters import AdapterCache
from observatory.runtime.engine import Completion, LlamaEngine
from observatory.runtime.errors import INSUFFICIENT_STORAGE, ShardError, error_body, vram_body
from observatory.runtime.metrics import ShardMetrics
from observatory.runtime.outcomes import outcome_of
from observatory.runtime.schemas import InferenceRequest, InferenceResponse, StageTimings
from observatory.runtime.vram import VRAMLimitError

log = logging.getLogger(__name__)

# The text/event-stream answer to a request with "stream": true.
EVENT_STREAM = "text/event-stream"


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
        # One request generates at a time: the one holding the turn.
        metrics.track_inference(lambda: int(self._turn.locked()))

    async def run(
        self,
        request: InferenceRequest,
        arrived: float,
        on_text: Callable[[str], None] | None = None,
        cancelled: threading.Event | None = None,
    ) -> tuple[InferenceResponse, str]:
        """One completion and why it finished; a failure of the engine is a 500 that names no internals."""
        wanted = [(adapter.name, adapter.scale) for adapter in request.adapters]
        async with self._turn:
            started = time.perf_counter()
            try:
                work = partial(self._complete, request, wanted, on_text, cancelled)
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
        seconds = time.perf_counter() - arrived
        stages = {
            "tokenize": completion.tokenize_seconds,
            "prompt_eval": completion.prompt_eval_seconds,
            "generation": completion.generation_seconds,
        }
        self._record(completion, hits, stages, seconds, started - arrived, arrived)
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

    def _complete(
        self,
        request: InferenceRequest,
        wanted: list[tuple[str, float | None]],
        on_text: Callable[[str], None] | None,
        cancelled: threading.Event | None,
    ) -> tuple[Completion, int]:
        with self._adapters.using(wanted) as resolution:
            completion = self._engine.complete(
                request.prompt, request.max_tokens, request.temperature, resolution.applied, on_text, cancelled
            )
        return completion, resolution.cache_hits

    def _record(
        self, completion: Completion, hits: int, stages: dict[str, float], seconds: float, queued_s: float,
        arrived: float,
    ) -> None:  # fmt: skip
        first_token_s = completion.first_token_at - arrived if completion.first_token_at is not None else None
        # A generation its client abandoned is no success: it stays out of the request count and the
        # latencies the SLOs read, and is counted by its finish reason alone.
        if completion.finish_reason != "cancelled":
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

    async def stream(self, request: InferenceRequest, arrived: float) -> AsyncIterator[str]:
        """Server-sent events: a ``token`` event per piece of text as it is generated, then ``done`` with the
        whole answer (as the non-streaming response, plus ``finish_reason``) or ``error``.

        A client that hangs up stops the generation after the token in progress.
        """
        loop = asyncio.get_running_loop()
        pieces: asyncio.Queue[str | None] = asyncio.Queue()
        cancelled = threading.Event()

        def on_text(piece: str) -> None:
            loop.call_soon_threadsafe(pieces.put_nowait, piece)

        running = asyncio.ensure_future(self.run(request, arrived, on_text, cancelled))
        running.add_done_callback(lambda _: pieces.put_nowait(None))
        try:
            while (piece := await pieces.get()) is not None:
                yield _event("token", {"text": piece})
            try:
                response, finish_reason = await running
            except ShardError as error:
                self._stream_failed(error.status)
                yield _event("error", error_body(error.message, error.field))
            except VRAMLimitError as error:
                self._stream_failed(INSUFFICIENT_STORAGE)
                yield _event("error", vram_body(error))
            else:
                yield _event("done", response.model_dump() | {"finish_reason": finish_reason})
        finally:
            if not running.done():
                # The client left: the generation stops at its next token and records itself as cancelled.
                cancelled.set()
                running.add_done_callback(_retrieve)

    def _stream_failed(self, status: int) -> None:
        # The answer began with 200 before the generation failed, so the outcome middleware leaves it to the
        # shard: it is counted here with the status the same failure answers a whole request with.
        self._metrics.request_failed("inference", outcome_of(status))


def _retrieve(task: asyncio.Future) -> None:
    with contextlib.suppress(asyncio.CancelledError, Exception):
        task.result()


def _event(name: str, data: dict) -> str:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n"
