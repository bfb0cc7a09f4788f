"""The checkpoint of a durable task: each step's output is saved under the owner's claim."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from observatory.orchestrator.durable.records import Claim, ConflictError, ConflictReason, Status
from observatory.orchestrator.durable.store import Store


class DurableCheckpoint:
    """Runs a task's named steps at most once each across restarts and owners.

    A step whose output is saved is not run again: its saved output is returned. Otherwise the
    step runs and its output (a JSON object) is saved under the claim's epoch. A claim that was
    taken over meanwhile gets :class:`ConflictError` (``stale_epoch``) and must stop. When the same
    step completed concurrently under this claim, the first saved output wins and is returned.
    """

    def __init__(self, store: Store, claim: Claim, on_conflict: Callable[[ConflictReason], None]) -> None:
        self._store = store
        self._claim = claim
        self._on_conflict = on_conflict

    async def run_step(self, node: str, step: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
        """The saved output of ``node``, or the output of running ``step`` now, saved."""
        saved = await asyncio.to_thread(self._store.saved_output, self._claim.task_id, node)
        if saved is not None:
            return saved
        try:
            await self._record(node, Status.RUNNING)
            try:
                # A JSON round trip: the live output equals what a restart will read back.
                output = json.loads(json.dumps(await step()))
            except Exception as error:
                await self._record(node, Status.FAILED, error=f"{type(error).__name__}: {error}")
                raise
            await self._record(node, Status.SUCCEEDED, output=output)
        except ConflictError as conflict:
            self._on_conflict(conflict.reason)
            if conflict.reason is not ConflictReason.STEP_COMPLETED:
                raise
            output = await asyncio.to_thread(self._store.saved_output, self._claim.task_id, node)
        return output

    async def _record(self, node: str, status: Status, **values: Any) -> None:
        await asyncio.to_thread(self._store.record_step, self._claim, node, status, **values)
