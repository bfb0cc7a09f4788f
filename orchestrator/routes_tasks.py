"""Durable tasks: submit a long operation, then poll its status, result and per-node progress."""

from __future__ import annotations

from fastapi import APIRouter, Path

from observatory.orchestrator.deps import OrchestratorDep
from observatory.orchestrator.operations import parse
from observatory.orchestrator.schemas import NodeProgress, TaskCreated, TaskIn, TaskOut
from observatory.runtime.errors import not_found
from observatory.runtime.json_body import JsonBodyRoute

router = APIRouter(prefix="/api/v1/tasks", tags=["tasks"], route_class=JsonBodyRoute)


@router.post("", status_code=202, responses={422: {}})
async def submit(body: TaskIn, orchestrator: OrchestratorDep) -> TaskCreated:
    """Queue a long operation; its request is validated now, its work runs on a task runner."""
    parse(body.kind, body.request)
    return TaskCreated(task_id=await orchestrator.in_store("submit_task", body.kind, body.request))


@router.get("/{task_id}", responses={404: {}})
async def status(orchestrator: OrchestratorDep, task_id: str = Path(min_length=1, max_length=128)) -> TaskOut:
    """The task's status, its result once it succeeded (or its error) and each node's progress."""
    task = await orchestrator.in_store("get_task", task_id)
    if task is None:
        raise not_found("task_id", f"task_id: no task {task_id!r}")
    return TaskOut(
        task_id=task.id,
        kind=task.kind,
        status=task.status,
        result=task.result,
        error=task.error,
        progress=[NodeProgress(node=node, status=state) for node, state in task.progress],
    )
