"""The OpenAI-compatible API translated onto the shard's own inference path.

A chat or text completion becomes a :class:`GenerationRequest` that the same runner serves as a
native request (one admission queue, one set of metrics, faults and adapters); what comes back is
told in OpenAI's shapes: a whole ``chat.completion``/``text_completion`` with ``usage``, or
server-sent chunks ending with ``data: [DONE]``. The ``model`` is the shard's model or one of its
LoRA adapters, as vLLM serves adapters by name.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from observatory.runtime.engine import Piece, Sampling
from observatory.runtime.errors import ShardError, not_found
from observatory.runtime.generation import GenerationRequest
from observatory.runtime.inference import StreamEnd
from observatory.runtime.openai_errors import envelope, openai_status
from observatory.runtime.openai_schemas import ChatCompletionRequest, CompletionRequest, ModelCard, SampledRequest
from observatory.runtime.schemas import InferenceResponse
from observatory.runtime.service import Shard
from observatory.runtime.vram import VRAMLimitError

OWNER = "themis"
DONE = "data: [DONE]\n\n"


def model_cards(shard: Shard) -> list[ModelCard]:
    """The models a request may name: the shard's model, then every adapter it holds or can load."""
    created = int(time.time() - (time.monotonic() - shard.started_monotonic))
    base = shard.model_name
    adapters = sorted({*shard.adapters.available(), *(adapter.name for adapter in shard.adapters.loaded())})
    return [ModelCard(id=base, created=created, owned_by=OWNER, root=base)] + [
        ModelCard(id=name, created=created, owned_by=OWNER, root=name, parent=base) for name in adapters
    ]


def adapters_for(shard: Shard, model: str) -> tuple[tuple[str, float | None], ...]:
    """The adapters ``model`` stands for: none for the shard's model, else the adapter of that name;
    404 ``model_not_found`` for any other name."""
    if model == shard.model_name:
        return ()
    if model in shard.adapters.available() or any(adapter.name == model for adapter in shard.adapters.loaded()):
        return ((model, None),)
    known = ", ".join(card.id for card in model_cards(shard))
    error = not_found("model", f"model {model!r} is not served here (served: {known})")
    error.code = "model_not_found"
    raise error


def sampling_of(body: SampledRequest, template_stops: tuple[str, ...] = ()) -> Sampling:
    """The request's sampling fields for the engine."""
    return Sampling(
        top_p=body.top_p,
        seed=body.seed,
        stop=body.stops + template_stops,
        ignore_eos=body.ignore_eos,
        min_tokens=body.min_tokens,
        presence_penalty=body.presence_penalty,
        frequency_penalty=body.frequency_penalty,
    )


@dataclass(frozen=True)
class Shape:
    """How one endpoint's answers look: ``chat.completion`` or ``text_completion``, and the request's
    fields by the names the engine's refusals use (``prompt``, ``max_tokens``, ``adapters``)."""

    chat: bool
    fields: dict[str, str]

    @property
    def object(self) -> str:
        """The ``object`` of a whole answer."""
        return "chat.completion" if self.chat else "text_completion"

    @property
    def chunk_object(self) -> str:
        """The ``object`` of a streamed chunk."""
        return "chat.completion.chunk" if self.chat else "text_completion"

    def choice(self, text: str, finish_reason: str | None) -> dict:
        """The one choice of a whole answer."""
        if self.chat:
            message = {"role": "assistant", "content": text}
            return {"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}
        return {"index": 0, "text": text, "logprobs": None, "finish_reason": finish_reason}

    def delta(self, text: str, first: bool, finish_reason: str | None) -> dict:
        """The one choice of a streamed chunk; the first chunk names the assistant's role."""
        if self.chat:
            delta = ({"role": "assistant"} if first else {}) | ({"content": text} if text or first else {})
            return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return {"index": 0, "text": text, "logprobs": None, "finish_reason": finish_reason}

    def refusal(self, error: ShardError | VRAMLimitError) -> ShardError | VRAMLimitError:
        """``error`` naming the request's own field instead of the engine's."""
        if error.field is not None:
            head = error.field.split(".", 1)[0]
            error.field = self.fields.get(head, error.field)
        return error


def chat_shape(body: ChatCompletionRequest) -> Shape:
    """The answers of a chat completion; its prompt is its messages, its adapter its model."""
    return Shape(True, {"prompt": "messages", "max_tokens": body.token_limit[1], "adapters": "model"})


def completion_shape(_: CompletionRequest) -> Shape:
    """The answers of a text completion."""
    return Shape(False, {"adapters": "model"})


def usage(counted: InferenceResponse | Piece) -> dict:
    """OpenAI's ``usage`` of a finished answer, or of a stream so far."""
    total = counted.prompt_tokens + counted.completion_tokens
    return {"prompt_tokens": counted.prompt_tokens, "completion_tokens": counted.completion_tokens,
            "total_tokens": total}  # fmt: skip


class Answering:
    """One chat or text completion request, answered whole or streamed."""

    def __init__(self, shard: Shard, shape: Shape, model: str, generation: GenerationRequest) -> None:
        self._shard = shard
        self._shape = shape
        self._model = model
        self._generation = generation
        self._id = f"{'chatcmpl' if shape.chat else 'cmpl'}-{uuid.uuid4().hex}"
        self._created = int(time.time())

    def _head(self, kind: str) -> dict:
        return {"id": self._id, "object": kind, "created": self._created, "model": self._model}

    async def whole(self, arrived: float | None, gone: Callable[[], Awaitable[None]]) -> dict | None:
        """The whole answer with its usage; None when the client hung up and the generation was cancelled."""
        try:
            answered = await self._shard.infer(self._generation, arrived, gone)
        except (ShardError, VRAMLimitError) as error:
            raise self._shape.refusal(error) from None
        if answered is None:
            return None
        response, finish_reason = answered
        choice = self._shape.choice(response.text, finish_reason)
        return self._head(self._shape.object) | {"choices": [choice], "usage": usage(response)}

    def stream(self, arrived: float | None, include_usage: bool, continuous: bool = False) -> AsyncIterator[str]:
        """The answer as server-sent chunks (checked before the first one, so that a refusal is a plain error);
        ``continuous``: every chunk carries the usage so far, as vLLM's ``continuous_usage_stats``."""
        try:
            pieces = self._shard.pieces(self._generation, arrived)
        except (ShardError, VRAMLimitError) as error:
            raise self._shape.refusal(error) from None
        return self._chunks(pieces, include_usage, continuous)

    async def _chunks(
        self, pieces: AsyncIterator[Piece | StreamEnd], include_usage: bool, continuous: bool
    ) -> AsyncIterator[str]:
        # With include_usage every chunk carries "usage": null (or, continuous, the usage so far) but the last,
        # which carries only the usage.
        extra = {"usage": None} if include_usage else {}
        first = True
        async with contextlib.aclosing(pieces):  # closed with this stream: the generation stops at once
            async for item in pieces:
                if isinstance(item, Piece):
                    running = {"usage": usage(item)} if continuous else extra
                    yield self._chunk([self._shape.delta(item.text, first, None)], running)
                    first = False
                    continue
                if item.error is not None:
                    yield _data(self._error_of(item.error))
                    break
                assert item.response is not None
                final = {"usage": usage(item.response)} if continuous else extra
                yield self._chunk([self._shape.delta("", first, item.finish_reason)], final)
                if include_usage:
                    yield self._chunk([], {"usage": usage(item.response)})
        yield DONE

    def _chunk(self, choices: list[dict], extra: dict) -> str:
        return _data(self._head(self._shape.chunk_object) | {"choices": choices} | extra)

    def _error_of(self, error: ShardError | VRAMLimitError) -> dict:
        error = self._shape.refusal(error)
        if isinstance(error, VRAMLimitError):
            return envelope(507, str(error), error.field)
        return envelope(openai_status(error.status), error.message, error.field, error.code)


def _data(payload: dict) -> str:
    return f"data: {json.dumps(payload)}\n\n"
