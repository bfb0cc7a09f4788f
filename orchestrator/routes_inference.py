"""POST /api/v1/inference: a completion routed by domain, with failover to backups and healthy shards."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from observatory.orchestrator.deps import OrchestratorDep
from observatory.orchestrator.schemas import InferenceRequest
from observatory.runtime.disconnect import client_closed, unless_hung_up
from observatory.runtime.json_body import JsonBodyRoute

router = APIRouter(prefix="/api/v1", tags=["inference"], route_class=JsonBodyRoute)


@router.post("/inference", responses={422: {}, 503: {"description": "no shard could answer"}})
async def inference(request: InferenceRequest, orchestrator: OrchestratorDep, http: Request) -> Response:
    """The shard's answer plus ``shard`` (who answered), ``fallback_used`` and ``backup_shard``.

    A client that hangs up closes the call to the shard, which stops generating.
    """
    domain = orchestrator.pool.domain(request.domain, "domain") if request.domain is not None else None
    body = request.model_dump(exclude={"domain"}, exclude_none=True)
    routing = orchestrator.route(domain, orchestrator.pool.candidates(domain), "POST", "/api/v1/inference",
                                 json=body, timeout=orchestrator.settings.timeouts.inference)  # fmt: skip
    answered = await unless_hung_up(routing, http)
    if answered is None:
        return client_closed()
    answer, fallback = answered
    # The shard's answer is passed on as it came, with who answered: no model to re-validate it against.
    return JSONResponse(answer.body | {
        "shard": answer.shard.name,
        "fallback_used": fallback,
        "backup_shard": answer.shard.name if fallback else None,
    })
