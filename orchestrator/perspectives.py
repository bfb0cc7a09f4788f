"""Multi-perspective work: consensus over domains, and seed 000's distributed analysis of a document.

Each perspective is produced by its domain's shard; the perspectives and their source text are then
embedded by one shard and scored as scores.py defines. Every shard call runs through the task's
checkpoint under a stable node name (``perspective:<domain>``, ``<type>:<step>``, ``scores``, ``fusion``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from observatory.orchestrator.checkpoint import Checkpoint
from observatory.orchestrator.documents import chunks
from observatory.orchestrator.schemas import (
    AnalysisRequest,
    AnalysisResponse,
    ConsensusRequest,
    ConsensusResponse,
    Perspective,
)
from observatory.orchestrator.scores import consensus_score, pairwise_agreement, similarity_ratio
from observatory.orchestrator.service import Orchestrator
from observatory.runtime.errors import ShardError, input_error, not_found


async def _each(parallel: bool, jobs: Sequence[Callable[[], Awaitable[dict[str, Any]]]]) -> list[dict[str, Any]]:
    if parallel:
        return list(await asyncio.gather(*(job() for job in jobs)))
    return [await job() for job in jobs]


def _findings_text(view: dict[str, Any]) -> str:
    return "\n".join(view["findings"])


async def score(orchestrator: Orchestrator, source: str, views: list[dict[str, Any]]) -> dict[str, Any]:
    """Confidence of each view against ``source``, pairwise agreement and the consensus score.

    A view whose findings are empty has no embedding: it is refused rather than given a score.
    """
    for view in views:
        if not _findings_text(view).strip():
            raise ShardError(502, f"shard {view['shard']} produced no findings for {view['domain']}", None)
    shard, vectors = await orchestrator.embed([source, *(_findings_text(view) for view in views)])
    names = [view["domain"] for view in views]
    by_name = dict(zip(names, vectors[1:], strict=True))
    agreement = pairwise_agreement(by_name)
    return {
        "embedded_by": shard,
        "confidence": {name: similarity_ratio(vector, vectors[0]) for name, vector in by_name.items()},
        "agreement": [{"a": a, "b": b, "ratio": ratio} for (a, b), ratio in agreement.items()],
        "consensus_score": consensus_score(agreement),
    }


def _perspectives(views: list[dict[str, Any]], scores: dict[str, Any]) -> list[Perspective]:
    return [
        Perspective(domain=view["domain"], shard=view["shard"], findings=view["findings"],
                    confidence=scores["confidence"][view["domain"]])
        for view in views
    ]  # fmt: skip


def _findings(text: str) -> list[str]:
    return [text.strip()] if text.strip() else []


async def run_consensus(orchestrator: Orchestrator, request: ConsensusRequest, checkpoint: Checkpoint) -> dict:
    """Ask every domain, score the perspectives, fuse them on any healthy shard."""
    for index, domain in enumerate(request.domains):
        orchestrator.pool.domain(domain, f"domains.{index}")
    started = time.perf_counter()

    def ask(index: int, domain: str) -> Callable[[], Awaitable[dict[str, Any]]]:
        async def work() -> dict[str, Any]:
            prompt = f"As the {domain} expert, answer: {request.query}"
            generated = await orchestrator.generate(domain, prompt, request.max_tokens, f"domains.{index}")
            return {"domain": domain, "shard": generated.shard.name, "findings": _findings(generated.text)}

        return lambda: checkpoint.run_step(f"perspective:{domain}", work)

    ok = False
    try:
        views = await _each(True, [ask(index, domain) for index, domain in enumerate(request.domains)])
        scores = await checkpoint.run_step("scores", lambda: score(orchestrator, request.query, views))

        async def fuse() -> dict[str, Any]:
            lines = [f"Fuse these perspectives on: {request.query}"]
            lines += [f"[{view['domain']}] {_findings_text(view)}" for view in views]
            generated = await orchestrator.generate("orchestrator", "\n".join(lines), request.max_tokens)
            return {"fused": generated.text, "shard": generated.shard.name}

        fused = await checkpoint.run_step("fusion", fuse)
        ok = True
    finally:
        seconds = time.perf_counter() - started
        orchestrator.metrics.reasoning("consensus", len(request.domains) + 1, len(request.domains) + 1, 2, None,
                                       seconds, ok)  # fmt: skip
    _record_consensus(orchestrator, seconds, views, scores)
    return ConsensusResponse(
        perspectives=_perspectives(views, scores),
        agreement=scores["agreement"],
        consensus_score=scores["consensus_score"],
        fused=fused["fused"],
        latency_seconds=seconds,
    ).model_dump()


def _record_consensus(
    orchestrator: Orchestrator, seconds: float, views: list[dict[str, Any]], scores: dict[str, Any]
) -> None:
    agreement = {(pair["a"], pair["b"]): pair["ratio"] for pair in scores["agreement"]}
    orchestrator.metrics.consensus(seconds, [view["shard"] for view in views], agreement)


def reading_order(pieces: int, depth: int) -> list[int]:
    """The chunk each step of an analysis chain reads: the chunks in order, then from the first again,
    for at least ``depth`` steps; a document of more chunks than ``depth`` takes one step per chunk."""
    return [step % pieces for step in range(max(depth, pieces))]


async def run_analysis(orchestrator: Orchestrator, request: AnalysisRequest, checkpoint: Checkpoint) -> dict:
    """Seed 000's distributed analysis: one chain per analysis type on its domain's shard (all chains at
    once in ``parallel_cot``) whose steps read the whole document, chunk after chunk (see
    :func:`reading_order`), then the perspectives scored against the document's opening chunk (one
    embedding holds one chunk)."""
    document = await orchestrator.in_store("get_document", request.document_id)
    if document is None:
        raise not_found("document_id", f"document_id: no document {request.document_id!r}")
    mapping = orchestrator.settings.analysis_domains
    for index, kind in enumerate(request.analysis_types):
        if kind not in mapping:
            where = f"analysis_types.{index}"
            raise input_error(where, f"{where}: unknown analysis type {kind!r} (known: {', '.join(sorted(mapping))})")
    pieces = chunks(document.text, orchestrator.settings.chunk_chars)
    reads = reading_order(len(pieces), request.depth)
    started = time.perf_counter()

    def chain(kind: str) -> Callable[[], Awaitable[dict[str, Any]]]:
        async def run() -> dict[str, Any]:
            findings: list[str] = []
            shard = ""
            for number, piece in enumerate(reads, start=1):
                previous = findings[-1] if findings else ""

                async def work(number: int = number, previous: str = previous, piece: int = piece) -> dict[str, Any]:
                    prompt = f"As the {kind} analyst, read: {pieces[piece]}\nSo far: {previous}\nStep {number}:"
                    generated = await orchestrator.generate(mapping[kind], prompt, request.max_tokens)
                    return {"output": generated.text, "shard": generated.shard.name}

                step = await checkpoint.run_step(f"{kind}:{number}", work)
                findings += _findings(step["output"])
                shard = step["shard"]
            return {"domain": kind, "shard": shard, "findings": findings}

        return run

    parallel = request.mode == "parallel_cot"
    steps = len(request.analysis_types) * len(reads)
    ok = False
    try:
        views = await _each(parallel, [chain(kind) for kind in request.analysis_types])
        scores = await checkpoint.run_step("scores", lambda: score(orchestrator, pieces[0], views))
        ok = True
    finally:
        seconds = time.perf_counter() - started
        mode = "parallel" if parallel else "sequential"
        orchestrator.metrics.reasoning("hierarchical", steps, len(reads), 3, mode, seconds, ok)
    _record_consensus(orchestrator, seconds, views, scores)
    return AnalysisResponse(
        success=True,
        document_id=request.document_id,
        perspectives=_perspectives(views, scores),
        agreement=scores["agreement"],
        consensus_score=scores["consensus_score"],
        steps_executed=steps,
        latency_seconds=seconds,
    ).model_dump()
