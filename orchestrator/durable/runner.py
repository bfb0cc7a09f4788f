"""Runs queued durable tasks: claims them, runs their kind's handler, keeps the lease, records the outcome."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import sqlalchemy as sa

from observatory.orchestrator.checkpoint import Checkpoint
from observatory.orchestrator.durable.checkpoint import DurableCheckpoint
from observatory.orchestrator.durable.records import Claim, ConflictError, ConflictReason, Status
from observatory.orchestrator.durable.store import Store

Handler = Callable[[dict[str, Any], Checkpoint], Awaitable[dict[str, Any]]]

log = logging.getLogger(__name__)


def _ignore(_value: object) -> None:
    """The default metric hook."""


def _ignore_outcome(_kind: str, _status: Status) -> None:
    """The default outcome hook."""


class TaskRunner:
    """One owner's worker over the store: runs up to ``concurrency`` tasks at a time.

    On ``start()`` the owner first resumes the tasks it still held when it stopped or died
    (fencing its previous process), then polls for queued tasks of the kinds it has handlers for
    and for tasks whose owner's lease expired. A running task's lease is renewed every third of
    ``lease_seconds``; when a renewal is refused the task was taken over and its handler is
    cancelled. Tasks of a kind no runner has a handler for stay queued.

    Hooks for metrics: ``on_queue_depth(depth)`` after every poll, ``on_conflict(reason)`` for
    every write the store refused, ``on_finished(kind, status)`` for every outcome recorded.
    """

    def __init__(
        self,
        store: Store,
        owner: str,
        handlers: Mapping[str, Handler],
        *,
        concurrency: int = 4,
        lease_seconds: float = 30.0,
        poll_seconds: float = 0.5,
        on_queue_depth: Callable[[int], None] = _ignore,
        on_conflict: Callable[[ConflictReason], None] = _ignore,
        on_finished: Callable[[str, Status], None] = _ignore_outcome,
    ) -> None:
        self._store = store
        self._owner = owner
        self._handlers = dict(handlers)
        self._concurrency = concurrency
        self._lease_seconds = lease_seconds
        self._poll_seconds = poll_seconds
        self._on_queue_depth = on_queue_depth
        self._on_conflict = on_conflict
        self._on_finished = on_finished
        self._stopping = asyncio.Event()
        self._running: dict[str, asyncio.Task[None]] = {}
        self._claims: dict[str, Claim] = {}
        self._poller: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Resume this owner's unfinished tasks, then start polling for more."""
        for claim in await asyncio.to_thread(
            self._store.resume, self._owner, self._handlers, lease_seconds=self._lease_seconds
        ):
            self._launch(claim)
        self._poller = asyncio.create_task(self._poll(), name=f"task-runner-{self._owner}")

    async def stop(self) -> None:
        """Stop polling, cancel the running handlers and give their tasks back to the queue.

        The saved steps stay: whoever claims a task next resumes it after its last saved step.
        """
        self._stopping.set()
        if self._poller is not None:
            # The poller ends after its current claim, so no claimed task is left unlaunched.
            await self._poller
        running = list(self._running.values())
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        for claim in list(self._claims.values()):
            await self._give_back(claim)

    async def _give_back(self, claim: Claim) -> None:
        try:
            await asyncio.to_thread(self._store.release, claim)
        except ConflictError as conflict:
            self._on_conflict(conflict.reason)
        finally:
            self._claims.pop(claim.task_id, None)

    async def _poll(self) -> None:
        while not self._stopping.is_set():
            try:
                free = self._concurrency - len(self._running)
                if free > 0:
                    for claim in await asyncio.to_thread(
                        self._store.claim, self._owner, self._handlers, lease_seconds=self._lease_seconds, limit=free
                    ):
                        self._launch(claim)
                self._on_queue_depth(await asyncio.to_thread(self._store.queue_depth))
            except sa.exc.SQLAlchemyError as error:
                # The database may be restarting: keep polling, the leases tell who owns what.
                log.warning("task store unavailable: %s", str(error).splitlines()[0])
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._poll_seconds)

    def _launch(self, claim: Claim) -> None:
        self._claims[claim.task_id] = claim
        task = asyncio.create_task(self._execute(claim), name=f"durable-task-{claim.task_id}")
        self._running[claim.task_id] = task
        task.add_done_callback(lambda _: self._running.pop(claim.task_id, None))

    async def _execute(self, claim: Claim) -> None:
        handler = self._handlers[claim.kind]
        checkpoint = DurableCheckpoint(self._store, claim, self._on_conflict)
        lease = asyncio.create_task(self._keep_lease(claim, asyncio.current_task()))
        try:
            result = await handler(claim.request, checkpoint)
            outcome: dict[str, Any] = {"result": result}
        except ConflictError:
            self._claims.pop(claim.task_id, None)
            return  # fenced out (already counted by the checkpoint): the new owner finishes it
        except asyncio.CancelledError:
            if claim.task_id in self._claims:
                raise  # stop(): the claim goes back to the queue
            return  # the lease was lost: the new owner finishes it
        except Exception as error:
            outcome = {"error": f"{type(error).__name__}: {error}"}
        finally:
            lease.cancel()
        await self._finish(claim, outcome)

    async def _finish(self, claim: Claim, outcome: dict[str, Any]) -> None:
        try:
            await asyncio.to_thread(self._store.finish, claim, **outcome)
            self._on_finished(claim.kind, Status.FAILED if "error" in outcome else Status.SUCCEEDED)
        except ConflictError as conflict:
            self._on_conflict(conflict.reason)
        except sa.exc.SQLAlchemyError as error:
            # The lease runs out and another claim runs the task again from its saved steps.
            log.warning("cannot record task %s: %s", claim.task_id, str(error).splitlines()[0])
        finally:
            self._claims.pop(claim.task_id, None)

    async def _keep_lease(self, claim: Claim, handler: asyncio.Task[Any] | None) -> None:
        while True:
            await asyncio.sleep(self._lease_seconds / 3)
            try:
                await asyncio.to_thread(self._store.renew, claim, lease_seconds=self._lease_seconds)
            except ConflictError as conflict:
                self._on_conflict(conflict.reason)
                self._claims.pop(claim.task_id, None)
                if handler is not None:
                    handler.cancel()
                return
            except sa.exc.SQLAlchemyError as error:
                log.warning("cannot renew the lease of task %s: %s", claim.task_id, str(error).splitlines()[0])
