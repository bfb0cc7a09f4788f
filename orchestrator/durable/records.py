"""What the durable store hands out: documents, task views, claims, and the conflicts it refuses."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from observatory.orchestrator.durable.epoch import Epoch


class Status(StrEnum):
    """The state of a task, or of one step (node) of a task; steps are never queued."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class ConflictReason(StrEnum):
    """Why the store refused a write (bounded values, fit for a metric label)."""

    STALE_EPOCH = "stale_epoch"
    """The writer's claim is no longer the task's current one: another claim fenced it out."""
    STEP_COMPLETED = "step_completed"
    """The step already has a saved output; a second completion never replaces it."""


class ConflictError(Exception):
    """A write refused by the epoch fence or by the once-only rule for steps."""

    def __init__(self, reason: ConflictReason, task_id: str, node: str | None = None) -> None:
        where = f"task {task_id}" + (f" step {node!r}" if node is not None else "")
        super().__init__(f"{reason.value}: {where}")
        self.reason = reason
        self.task_id = task_id
        self.node = node


@dataclass(frozen=True)
class Document:
    """A stored document (seed 003's Documents table)."""

    id: str
    domain: str
    title: str
    text: str


@dataclass(frozen=True)
class TaskView:
    """A task as a client sees it: its request, status, outcome and the status of each step so far."""

    id: str
    kind: str
    status: Status
    request: dict[str, Any]
    result: dict[str, Any] | None
    error: str | None
    progress: list[tuple[str, Status]]


@dataclass(frozen=True)
class Claim:
    """One owner's hold on a running task; every write the owner makes is fenced by ``epoch``."""

    task_id: str
    kind: str
    request: dict[str, Any]
    owner: str
    epoch: Epoch
