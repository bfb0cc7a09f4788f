"""Durable tasks (seed 003): documents, tasks and step progress in SQLite or PostgreSQL, fenced by epochs."""

from observatory.orchestrator.durable.checkpoint import DurableCheckpoint
from observatory.orchestrator.durable.engine import StoreError, StoreUrlError
from observatory.orchestrator.durable.epoch import Epoch
from observatory.orchestrator.durable.records import Claim, ConflictError, ConflictReason, Document, Status, TaskView
from observatory.orchestrator.durable.runner import Handler, TaskRunner
from observatory.orchestrator.durable.store import Store

__all__ = [
    "Claim",
    "ConflictError",
    "ConflictReason",
    "Document",
    "DurableCheckpoint",
    "Epoch",
    "Handler",
    "Status",
    "Store",
    "StoreError",
    "StoreUrlError",
    "TaskRunner",
    "TaskView",
]
