"""Kubernetes probes per seed 000: /health (liveness), /ready (readiness), /startup."""

from __future__ import annotations

import time

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from observatory.runtime.deps import ShardDep
from observatory.runtime.health import is_ready

router = APIRouter(tags=["probes"])


@router.get("/health", responses={503: {"description": "unhealthy"}})
async def health(shard: ShardDep) -> JSONResponse:
    """healthy or degraded (200), unhealthy (503), with the state the rules looked at."""
    state = shard.state()
    status = shard.refresh_health()
    body = {
        "status": status,
        "gpu_available": state.gpu_available,
        "model_loaded": state.model_loaded,
        "vram_used_bytes": state.vram_reserved_bytes,
        "vram_limit_bytes": state.vram_limit_bytes,
        "active_requests": state.active_requests,
        "uptime_seconds": time.monotonic() - shard.started_monotonic,
        "lora_count": len(shard.adapters.loaded()),
        "error": shard.startup_error,
    }
    return JSONResponse(body, status_code=503 if status == "unhealthy" else 200)


@router.get("/ready", responses={503: {"description": "not ready"}})
async def ready(shard: ShardDep) -> JSONResponse:
    """Ready (200) when the model is loaded and the admission queue has room, else 503."""
    state = shard.state()
    ok = is_ready(state)
    body = {"ready": ok, "capacity_used": state.active_requests / state.capacity}
    return JSONResponse(body, status_code=200 if ok else 503)


@router.get("/startup", responses={503: {"description": "still starting"}})
async def startup(shard: ShardDep) -> JSONResponse:
    """Started (200) once the model is loaded and the search queue runs, else 503."""
    body = {"started": shard.started, "error": shard.startup_error}
    return JSONResponse(body, status_code=200 if shard.started else 503)
