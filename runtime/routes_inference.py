"""POST /api/v1/inference: a completion with optional LoRA adapters."""

from __future__ import annotations

from fastapi import APIRouter

from observatory.runtime.deps import ShardDep
from observatory.runtime.schemas import InferenceRequest, InferenceResponse

router = APIRouter(prefix="/api/v1", tags=["inference"])


@router.post("/inference")
async def inference(request: InferenceRequest, shard: ShardDep) -> InferenceResponse:
    """Generate text for a prompt; the response carries token counts, llama.cpp's stage timings and adapters."""
    return await shard.infer(request)
