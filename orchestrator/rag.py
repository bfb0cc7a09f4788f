"""Federated RAG: one search per domain's shard, all at once, merged by score.

A domain's documents are indexed on its primary shard, so that is the shard searched. A shard that
fails or times out is named in ``missing_shards`` (one that holds fewer documents than asked for takes
part with what it has); the others' hits still come back. Each shard search is a checkpoint node ``search:<domain>``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from observatory.orchestrator.checkpoint import Checkpoint
from observatory.orchestrator.schemas import RagDocument, RagRequest, RagResponse
from observatory.orchestrator.scores import distance_score
from observatory.orchestrator.service import Orchestrator
from observatory.orchestrator.shards import ShardRef


async def _search(orchestrator: Orchestrator, shard: ShardRef, query: str, top_k: int) -> dict[str, Any]:
    """The shard's hits (all it holds when fewer than ``top_k``), or why it has none."""
    try:
        response = await orchestrator.pool.call(shard, "POST", "/api/v1/federated/search",
                                                orchestrator.settings.timeouts.search,
                                                json={"text": query, "k": top_k})  # fmt: skip
    except httpx.HTTPError as error:
        return {"shard": shard.name, "error": f"unreachable ({type(error).__name__})"}
    if response.status_code != 200:
        return {"shard": shard.name, "error": f"answered {response.status_code}"}
    hits = response.json()["results"][0]
    return {
        "shard": shard.name,
        "documents": [
            {"shard": shard.name, "id": hit["id"], "text": hit["text"], "score": distance_score(hit["distance"])}
            for hit in hits
        ],
    }


async def run_rag(orchestrator: Orchestrator, request: RagRequest, checkpoint: Checkpoint) -> dict[str, Any]:
    """Search every domain's shard at once and merge the hits, best score first, ``top_k`` in all."""
    shards = [orchestrator.pool.primary(orchestrator.pool.domain(d, f"domains.{i}"))
              for i, d in enumerate(request.domains)]  # fmt: skip
    started = time.perf_counter()
    answers = await asyncio.gather(*(
        checkpoint.run_step(f"search:{domain}", lambda shard=shard: _search(orchestrator, shard, request.query,
                                                                             request.top_k))
        for domain, shard in zip(request.domains, shards, strict=True)
    ))  # fmt: skip
    participating = [answer["shard"] for answer in answers if "documents" in answer]
    missing = [answer["shard"] for answer in answers if "documents" not in answer]
    documents = sorted((doc for answer in answers for doc in answer.get("documents", ())),
                       key=lambda doc: doc["score"], reverse=True)[: request.top_k]  # fmt: skip
    orchestrator.metrics.federated([shard.name for shard in shards], len(participating))
    return RagResponse(
        participating_shards=participating,
        missing_shards=missing,
        documents=[RagDocument(**doc) for doc in documents],
        latency_seconds=time.perf_counter() - started,
    ).model_dump()
