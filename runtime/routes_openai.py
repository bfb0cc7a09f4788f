"""The OpenAI-compatible API: /v1/chat/completions, /v1/completions, /v1/embeddings and /v1/models.

Routes translate (see openai_api.py); the generation itself is the native API's, through the same
admission queue, metrics, faults and adapters.
"""

from __future__ import annotations

import base64

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from observatory.runtime.admission import arrival_of
from observatory.runtime.deps import ShardDep
from observatory.runtime.disconnect import client_closed, hang_up_of
from observatory.runtime.errors import input_error
from observatory.runtime.generation import GenerationRequest
from observatory.runtime.inference import EVENT_STREAM
from observatory.runtime.json_body import JsonBodyRoute
from observatory.runtime.openai_api import (
    Answering,
    adapters_for,
    chat_shape,
    completion_shape,
    model_cards,
    sampling_of,
)
from observatory.runtime.openai_schemas import (
    ChatCompletionRequest,
    CompletionRequest,
    EmbeddingRequest,
    ModelList,
    SampledRequest,
)

router = APIRouter(prefix="/v1", tags=["OpenAI-compatible"], route_class=JsonBodyRoute)

STREAM_DOC = 'With "stream": true, "data: {chunk}" events ending with "data: [DONE]".'
STREAMED = {200: {"content": {EVENT_STREAM: {"schema": {"type": "string"}}}, "description": STREAM_DOC}}
REFUSALS = {400: {}, 404: {"description": "model_not_found"}, 429: {}, 503: {}, 507: {}}


async def _answer(answering: Answering, body: SampledRequest, request: Request) -> Response:
    if body.stream:
        chunks = answering.stream(arrival_of(request.scope), body.include_usage, body.continuous_usage)
        return StreamingResponse(chunks, media_type=EVENT_STREAM)
    whole = await answering.whole(arrival_of(request.scope), hang_up_of(request))
    return client_closed() if whole is None else JSONResponse(whole)


@router.post("/chat/completions", responses=STREAMED | REFUSALS)
async def chat_completions(body: ChatCompletionRequest, shard: ShardDep, request: Request) -> Response:
    """A chat completion: the messages rendered with the model's chat template, answered whole or streamed."""
    shard.require_started()
    adapters = adapters_for(shard, body.model)
    await shard.faults.before_request()
    assert shard.engine.chat is not None
    rendered = shard.engine.chat.render([message.as_chat() for message in body.messages])
    max_tokens, _ = body.token_limit
    generation = GenerationRequest(rendered.prompt, max_tokens, body.temperature, adapters,
                                   sampling_of(body, rendered.stop), templated=True)  # fmt: skip
    return await _answer(Answering(shard, chat_shape(body), body.model, generation), body, request)


@router.post("/completions", responses=STREAMED | REFUSALS)
async def completions(body: CompletionRequest, shard: ShardDep, request: Request) -> Response:
    """A text completion of one prompt, answered whole or streamed."""
    shard.require_started()
    adapters = adapters_for(shard, body.model)
    await shard.faults.before_request()
    max_tokens, _ = body.token_limit
    generation = GenerationRequest(body.text, max_tokens, body.temperature, adapters, sampling_of(body))
    return await _answer(Answering(shard, completion_shape(body), body.model, generation), body, request)


@router.post("/embeddings", responses=REFUSALS)
async def embeddings(body: EmbeddingRequest, shard: ShardDep) -> JSONResponse:
    """Mean-pooled embeddings of the input texts, as floats or as base64 of little-endian float32."""
    shard.require_started()
    adapters_for(shard, body.model)  # an adapter names the base model's embeddings: LoRA leaves them alone
    texts = body.texts
    fields = ["input"] if isinstance(body.input, str) else [f"input.{position}" for position in range(len(texts))]
    vectors = await shard.embed(texts, fields)
    if body.dimensions is not None and body.dimensions != vectors.shape[1]:
        raise input_error("dimensions", f"dimensions: this model's embeddings have {vectors.shape[1]}")
    tokens = await shard.count_tokens(texts)
    data = [{"object": "embedding", "index": position, "embedding": _encoded(row, body.encoding_format)}
            for position, row in enumerate(vectors)]  # fmt: skip
    return JSONResponse({"object": "list", "data": data, "model": body.model,
                         "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})  # fmt: skip


@router.get("/models")
async def models(shard: ShardDep) -> ModelList:
    """The models a request may name: the shard's model and its LoRA adapters (``parent`` is the model)."""
    return ModelList(data=model_cards(shard))


def _encoded(row: np.ndarray, encoding_format: str) -> list[float] | str:
    if encoding_format == "base64":
        return base64.b64encode(row.astype("<f4").tobytes()).decode("ascii")
    return row.tolist()
