"""POST /api/v1/inference: a completion routed by domain, with failover to backups and healthy shards."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from observatory.orchestrator.deps import OrchestratorDep
from observatory.orchestrator.schemas import InferenceRequest
from observatory.runtime.json_body import JsonBodyRoute

router = APIRouter(prefix="/api/v1", tags=["inference"], route_class=JsonBodyRoute)


@router.post("/inference", responses={422: {}, 503: {"description": "no shard could answer"}})
async def inference(request: InferenceRequest, orchestrator: OrchestratorDep) -> JSONResponse:
    """The shard's answer plus ``shard`` (who answered), ``fallback_used`` and ``backup_shard``."""
    domain = orchestrator.pool.domain(request.domain, "domain") if request.domain is not None else None
    body = request.model_dump(exclude={"domain"}, exclude_none=True)
    answer, fallback = await orchestrator.route(domain, orchestrator.pool.candidates(domain), "POST",
                                                "/api/v1/inference", json=body,
                                                timeout=orchestrator.settings.timeouts.inference)  # fmt: skip
    # The shard's answer is passed on as it came, with who answered: no model to re-validate it against.
    return JSONResponse(answer.body | {
        "shard": answer.shard.name,
        "fallback_used": fallback,
        "backup_shard": answer.shard.name if fallback else None,
    })
