"""The long operations by task kind: the body each one takes and the function that runs it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from observatory.orchestrator.checkpoint import Checkpoint
from observatory.orchestrator.dag import run_dag
from observatory.orchestrator.lora import run_transfer
from observatory.orchestrator.perspectives import run_analysis, run_consensus
from observatory.orchestrator.rag import run_rag
from observatory.orchestrator.schemas import AnalysisRequest, ConsensusRequest, DagRequest, RagRequest, TransferRequest
from observatory.orchestrator.service import Orchestrator
from observatory.runtime.errors import input_error

Handler = Callable[[dict[str, Any], Checkpoint], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Operation:
    """A long operation: its request body and how it runs under a checkpoint."""

    body: type[BaseModel]
    run: Callable[[Orchestrator, Any, Checkpoint], Awaitable[dict[str, Any]]]


OPERATIONS: dict[str, Operation] = {
    "dag": Operation(DagRequest, run_dag),
    "consensus": Operation(ConsensusRequest, run_consensus),
    "analysis": Operation(AnalysisRequest, run_analysis),
    "rag": Operation(RagRequest, run_rag),
    "lora_transfer": Operation(TransferRequest, run_transfer),
}


def parse(kind: str, request: dict[str, Any], field: str = "request") -> BaseModel:
    """``request`` validated as ``kind``'s body; 422 naming the field inside ``field``."""
    try:
        return OPERATIONS[kind].body.model_validate(request)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join([field, *(str(part) for part in first["loc"])])
        raise input_error(where, f"{where}: {first['msg']}") from None


def handlers(orchestrator: Orchestrator) -> dict[str, Handler]:
    """The task runner's handler per kind: parse the stored request, then run it under the checkpoint."""

    def handler(kind: str) -> Handler:
        async def run(request: dict[str, Any], checkpoint: Checkpoint) -> dict[str, Any]:
            return await OPERATIONS[kind].run(orchestrator, parse(kind, request), checkpoint)

        return run

    return {kind: handler(kind) for kind in OPERATIONS}
