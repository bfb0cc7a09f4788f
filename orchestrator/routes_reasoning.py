"""The long operations served directly: federated RAG, DAG reasoning, consensus, analysis, LoRA transfer.

Each runs under an ephemeral checkpoint here; the tasks API runs the same functions durably.
"""

from __future__ import annotations

from fastapi import APIRouter

from observatory.orchestrator.checkpoint import Ephemeral
from observatory.orchestrator.dag import run_dag
from observatory.orchestrator.deps import OrchestratorDep
from observatory.orchestrator.lora import transfer
from observatory.orchestrator.perspectives import run_analysis, run_consensus
from observatory.orchestrator.rag import run_rag
from observatory.orchestrator.schemas import (
    AnalysisRequest,
    AnalysisResponse,
    ConsensusRequest,
    ConsensusResponse,
    DagRequest,
    DagResponse,
    RagRequest,
    RagResponse,
    TransferRequest,
    TransferResponse,
)
from observatory.runtime.json_body import JsonBodyRoute

router = APIRouter(prefix="/api/v1", tags=["reasoning"], route_class=JsonBodyRoute)
REFUSALS = {404: {}, 422: {}, 503: {"description": "no shard could answer"}}


@router.post("/rag", responses=REFUSALS)
async def rag(request: RagRequest, orchestrator: OrchestratorDep) -> RagResponse:
    """Federated retrieval over the domains' shards, merged by score."""
    return RagResponse(**await run_rag(orchestrator, request, Ephemeral()))


@router.post("/reasoning/dag", responses=REFUSALS)
async def dag(request: DagRequest, orchestrator: OrchestratorDep) -> DagResponse:
    """A reasoning DAG run level by level."""
    return DagResponse(**await run_dag(orchestrator, request, Ephemeral()))


@router.post("/consensus", responses=REFUSALS)
async def consensus(request: ConsensusRequest, orchestrator: OrchestratorDep) -> ConsensusResponse:
    """Perspectives of several domains, their agreement and a fused answer."""
    return ConsensusResponse(**await run_consensus(orchestrator, request, Ephemeral()))


@router.post("/analysis/distributed", responses=REFUSALS)
async def analysis(request: AnalysisRequest, orchestrator: OrchestratorDep) -> AnalysisResponse:
    """Seed 000's distributed analysis of a stored document."""
    return AnalysisResponse(**await run_analysis(orchestrator, request, Ephemeral()))


@router.post("/lora/transfer", responses=REFUSALS | {409: {}, 507: {"description": "over the destination's budget"}})
async def lora_transfer(request: TransferRequest, orchestrator: OrchestratorDep) -> TransferResponse:
    """Copy an adapter between shards, verified by SHA-256, and load it at the destination."""
    return TransferResponse(**await transfer(orchestrator, request))
