"""Probes and metrics: /health, /ready and /metrics answer from memory and never wait on work."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from observatory.orchestrator.deps import OrchestratorDep

router = APIRouter(tags=["probes"])


@router.get("/health")
async def health(orchestrator: OrchestratorDep) -> dict:
    """Alive (200), with the shards that failed lately."""
    pool = orchestrator.pool
    return {"status": "healthy", "shards": len(pool.shards), "shards_down": sorted(pool.down())}


@router.get("/ready")
async def ready() -> dict:
    """Ready (200) while it serves: shards that failed are routed around, not waited on. On shutdown uvicorn
    closes the listening socket before anything else, so a draining orchestrator takes no new probe."""
    return {"ready": True}


@router.get("/metrics", response_class=Response)
async def metrics(orchestrator: OrchestratorDep) -> Response:
    """The orchestrator's catalogue metrics in the Prometheus text format."""
    return Response(generate_latest(orchestrator.metrics.registry), media_type=CONTENT_TYPE_LATEST)
