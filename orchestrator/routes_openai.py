"""The OpenAI-compatible API through the orchestrator: ``model`` names a domain or ``domain/adapter``.

Requests are routed to the domain's shards with the orchestrator's failover and passed on as the
shard answers them, named by the ``model`` the client asked for (see model_echo.py): a stream chunk
by chunk as the shard sends it, so that its first token reaches the client when the shard generates
it. A client that hangs up closes the call to the shard, which then stops generating.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from observatory.orchestrator.deps import OrchestratorDep
from observatory.orchestrator.model_echo import renamed_events
from observatory.orchestrator.service import Orchestrator
from observatory.orchestrator.shards import ShardRef
from observatory.runtime.disconnect import client_closed, unless_hung_up
from observatory.runtime.errors import ShardError
from observatory.runtime.inference import EVENT_STREAM
from observatory.runtime.json_body import JsonBodyRoute
from observatory.runtime.openai_schemas import ChatCompletionRequest, CompletionRequest, EmbeddingRequest, ModelList
from observatory.runtime.routes_openai import REFUSALS, STREAMED

router = APIRouter(prefix="/v1", tags=["OpenAI-compatible"], route_class=JsonBodyRoute)


@router.post("/chat/completions", responses=STREAMED | REFUSALS)
async def chat_completions(body: ChatCompletionRequest, orchestrator: OrchestratorDep, request: Request) -> Response:
    """A chat completion on the domain's shards (``model``: ``legal`` or ``legal/<adapter>``)."""
    return await _relay(orchestrator, request, "/v1/chat/completions", body.model, body.model_dump(exclude_unset=True),
                        body.stream)  # fmt: skip


@router.post("/completions", responses=STREAMED | REFUSALS)
async def completions(body: CompletionRequest, orchestrator: OrchestratorDep, request: Request) -> Response:
    """A text completion on the domain's shards."""
    return await _relay(orchestrator, request, "/v1/completions", body.model, body.model_dump(exclude_unset=True),
                        body.stream)  # fmt: skip


@router.post("/embeddings", responses=REFUSALS)
async def embeddings(body: EmbeddingRequest, orchestrator: OrchestratorDep, request: Request) -> Response:
    """Embeddings from one of the domain's shards."""
    return await _relay(orchestrator, request, "/v1/embeddings", body.model, body.model_dump(exclude_unset=True),
                        False, task=False)  # fmt: skip


@router.get("/models")
async def models(orchestrator: OrchestratorDep) -> ModelList:
    """The domains whose shards answer now, and their adapters as ``domain/adapter``."""
    return ModelList(data=await orchestrator.served_models.listing())


async def _relay(
    orchestrator: Orchestrator, request: Request, path: str, model: str, body: dict[str, Any], stream: bool,
    task: bool = True,
) -> Response:  # fmt: skip
    addressed = orchestrator.served_models.address(model)
    served: dict[str, str] = {}  # shard name -> the model it was asked for

    async def body_for(shard: ShardRef) -> dict:
        served[shard.name] = await orchestrator.served_models.name_at(shard, addressed)
        return body | {"model": served[shard.name]}

    routing = orchestrator.route(addressed.domain, orchestrator.pool.candidates(addressed.domain), "POST", path,
                                 task=task, timeout=orchestrator.settings.timeouts.inference, stream=stream,
                                 body_for=body_for)  # fmt: skip
    try:
        if stream:
            answer, _ = await routing
            chunks = renamed_events(_passed_on(answer.response), served[answer.shard.name], model)
            return StreamingResponse(chunks, media_type=EVENT_STREAM)
        answered = await unless_hung_up(routing, request)
    except ShardError as error:
        if error.field == "domain":  # no shard of the domain answered: the request named it as its model
            error.field = "model"
        raise
    if answered is None:
        return client_closed()
    return JSONResponse(answered[0].body | {"model": model})


async def _passed_on(response: httpx.Response) -> AsyncIterator[bytes]:
    """The shard's stream as it arrives; closing it (the client left) closes the call to the shard."""
    try:
        async for chunk in response.aiter_raw():
            yield chunk
    finally:
        await response.aclose()
