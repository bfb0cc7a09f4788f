"""POST /api/v1/inference: a completion with optional LoRA adapters, whole or streamed as server-sent events."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from observatory.runtime.admission import arrival_of
from observatory.runtime.deps import ShardDep
from observatory.runtime.disconnect import client_closed, hang_up_of
from observatory.runtime.inference import EVENT_STREAM
from observatory.runtime.json_body import JsonBodyRoute
from observatory.runtime.schemas import InferenceRequest, InferenceResponse

router = APIRouter(prefix="/api/v1", tags=["inference"], route_class=JsonBodyRoute)

STREAM_DOC = (
    'With "stream": true, server-sent events: "token" events ({"text": ...}) as tokens are generated, then one'
    ' "done" event (the response below plus "finish_reason") or "error" ({"error": ..., "field": ...}).'
)


@router.post(
    "/inference",
    response_model=InferenceResponse,
    responses={200: {"content": {EVENT_STREAM: {"schema": {"type": "string"}}}, "description": STREAM_DOC}},
)
async def inference(body: InferenceRequest, shard: ShardDep, request: Request) -> Response | InferenceResponse:
    """Generate text for a prompt; the response carries token counts, llama.cpp's stage timings and adapters.

    A client that hangs up stops its generation, streamed or not.
    """
    await shard.faults.before_request()
    if body.stream:
        return StreamingResponse(shard.stream(body.generation(), arrival_of(request.scope)), media_type=EVENT_STREAM)
    answered = await shard.infer(body.generation(), arrival_of(request.scope), hang_up_of(request))
    return client_closed() if answered is None else answered[0]
