"""The durable store: documents, tasks and step progress on SQLAlchemy Core, fenced by epochs."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Collection
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from observatory.orchestrator.durable.engine import StoreError, create_store_engine, reading, writing
from observatory.orchestrator.durable.epoch import UNCLAIMED, Epoch
from observatory.orchestrator.durable.records import Claim, ConflictError, ConflictReason, Document, Status, TaskView
from observatory.orchestrator.durable.schema import documents, metadata, progress, tasks

_ID = re.compile(r"[0-9a-f]{32}")


def check_text(**fields: str) -> None:
    """ValueError naming the first field whose text no database can store the same way (PostgreSQL's
    text holds no NUL character)."""
    for name, value in fields.items():
        if "\x00" in value:
            raise ValueError(f"{name}: contains a NUL character")


class Store:
    """Documents, tasks and the saved output of each task step, shared by every orchestrator replica.

    The API is synchronous (call it from async code through ``asyncio.to_thread``). SQLite
    (``sqlite:///FILE``, WAL mode) is the embedded store of one orchestrator; PostgreSQL
    (``postgresql://…``, psycopg 3) lets several replicas share the work.

    Fencing: every claim of a task gives it a greater :class:`Epoch` (lexicographic pair, see
    there) and the claim carries it. A write on behalf of a claim (lease renewal, step progress,
    the final result) is accepted only while the claim's epoch is the task's current one; a claim
    whose epoch is older has been taken over and gets :class:`ConflictError` (``stale_epoch``), so a
    stale owner can never overwrite newer progress. A step that completed keeps its output for
    good: a second completion gets :class:`ConflictError` (``step_completed``).
    """

    def __init__(self, engine: Engine, clock: Callable[[], float] = time.time) -> None:
        self._engine = engine
        self._clock = clock

    @classmethod
    def open(cls, url: str) -> Store:
        """Connect to the database at ``url`` and create the tables that are missing."""
        engine = create_store_engine(url)
        try:
            metadata.create_all(engine)
        except sa.exc.OperationalError as error:
            shown = engine.url.render_as_string(hide_password=True)
            engine.dispose()
            reason = str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
            raise StoreError(f"cannot open store {shown}: {reason}") from None
        except sa.exc.DBAPIError:
            # Another replica created the same tables at the same moment; they exist now.
            metadata.create_all(engine)
        return cls(engine)

    def close(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()

    def add_document(self, *, domain: str, title: str, text: str) -> str:
        """Store a document; returns its id. ValueError names a field that holds a NUL character."""
        check_text(domain=domain, title=title, text=text)
        document_id = uuid.uuid4().hex
        with writing(self._engine) as connection:
            connection.execute(
                documents.insert().values(
                    document_id=document_id, domain=domain, title=title, text=text, created_at=self._clock()
                )
            )
        return document_id

    def get_document(self, document_id: str) -> Document | None:
        """The document with ``document_id``, or None."""
        if not _ID.fullmatch(document_id):
            return None
        with reading(self._engine) as connection:
            row = connection.execute(sa.select(documents).where(documents.c.document_id == document_id)).first()
        if row is None:
            return None
        return Document(id=row.document_id, domain=row.domain, title=row.title, text=row.text)

    def submit_task(self, kind: str, request: dict[str, Any]) -> str:
        """Queue a task of ``kind`` with a JSON-serialisable ``request``; returns its id."""
        check_text(kind=kind)
        task_id = uuid.uuid4().hex
        now = self._clock()
        with writing(self._engine) as connection:
            connection.execute(
                tasks.insert().values(
                    task_id=task_id,
                    kind=kind,
                    request=request,
                    status=Status.QUEUED,
                    global_epoch=UNCLAIMED.global_epoch,
                    regional_epoch=UNCLAIMED.regional_epoch,
                    created_at=now,
                    updated_at=now,
                )
            )
        return task_id

    def get_task(self, task_id: str) -> TaskView | None:
        """The task's status, outcome and each step's status (in the order the steps started), or None."""
        if not _ID.fullmatch(task_id):
            return None
        with reading(self._engine) as connection:
            row = connection.execute(sa.select(tasks).where(tasks.c.task_id == task_id)).first()
            if row is None:
                return None
            steps = connection.execute(
                sa.select(progress.c.node, progress.c.status)
                .where(progress.c.task_id == task_id)
                .order_by(progress.c.started_at, progress.c.node)
            ).all()
        return TaskView(
            id=row.task_id,
            kind=row.kind,
            status=Status(row.status),
            request=row.request,
            result=row.result,
            error=row.error,
            progress=[(step.node, Status(step.status)) for step in steps],
        )

    def queue_depth(self) -> int:
        """How many tasks wait for an owner."""
        with reading(self._engine) as connection:
            return connection.execute(sa.select(sa.func.count()).where(tasks.c.status == Status.QUEUED)).scalar_one()

    def claim(self, owner: str, kinds: Collection[str], *, lease_seconds: float, limit: int = 1) -> list[Claim]:
        """Take up to ``limit`` tasks of ``kinds`` for ``owner``, oldest first: queued ones, and running
        ones whose owner let the lease expire (a takeover). Each gets the next owner's epoch.

        Several replicas may claim at once and a task still goes to one of them: on PostgreSQL the
        claimer locks the rows it takes (``FOR UPDATE SKIP LOCKED``: rows another claimer holds are
        skipped, rows it just released are re-checked against their new state); on SQLite every
        writing transaction holds the database's write lock from its first statement.
        """
        now = self._clock()
        claimable = sa.or_(
            tasks.c.status == Status.QUEUED,
            sa.and_(tasks.c.status == Status.RUNNING, tasks.c.lease_expires_at < now),
        )
        query = (
            sa.select(tasks)
            .where(claimable, tasks.c.kind.in_(list(kinds)))
            .order_by(tasks.c.created_at, tasks.c.task_id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return self._take_all(query, owner, Epoch.next_owner, now + lease_seconds)

    def resume(self, owner: str, kinds: Collection[str], *, lease_seconds: float) -> list[Claim]:
        """Take back the running tasks ``owner`` still holds (it restarted), lease expired or not.

        Each gets the owner's next incarnation epoch, which fences the owner's previous process.
        """
        now = self._clock()
        mine = sa.and_(tasks.c.status == Status.RUNNING, tasks.c.owner == owner)
        query = sa.select(tasks).where(mine, tasks.c.kind.in_(list(kinds))).order_by(tasks.c.created_at)
        # Waits for a row a writer holds (not SKIP LOCKED): a restart must not miss its own task.
        return self._take_all(query.with_for_update(), owner, Epoch.next_incarnation, now + lease_seconds)

    def _take_all(
        self, query: sa.Select, owner: str, next_epoch: Callable[[Epoch], Epoch], lease_expires_at: float
    ) -> list[Claim]:
        """Give each task the locking ``query`` selects to ``owner`` at its next epoch."""
        claims = []
        with writing(self._engine) as connection:
            for row in connection.execute(query).all():
                epoch = next_epoch(Epoch(row.global_epoch, row.regional_epoch))
                connection.execute(
                    tasks.update()
                    .where(tasks.c.task_id == row.task_id)
                    .values(
                        owner=owner,
                        status=Status.RUNNING,
                        global_epoch=epoch.global_epoch,
                        regional_epoch=epoch.regional_epoch,
                        lease_expires_at=lease_expires_at,
                        updated_at=self._clock(),
                    )
                )
                claims.append(Claim(row.task_id, row.kind, row.request, owner, epoch))
        return claims

    def renew(self, claim: Claim, *, lease_seconds: float) -> None:
        """Extend the claim's lease; :class:`ConflictError` when the claim has been taken over."""
        now = self._clock()
        self._update_held(claim, lease_expires_at=now + lease_seconds, updated_at=now)

    def release(self, claim: Claim) -> None:
        """Give the task back to the queue (a clean stop); its saved steps stay."""
        self._update_held(claim, status=Status.QUEUED, owner=None, lease_expires_at=None, updated_at=self._clock())

    def finish(self, claim: Claim, *, result: dict[str, Any] | None = None, error: str | None = None) -> None:
        """Record the task's outcome: succeeded with ``result``, or failed with ``error``."""
        status = Status.FAILED if error is not None else Status.SUCCEEDED
        self._update_held(
            claim, status=status, result=result, error=error, lease_expires_at=None, updated_at=self._clock()
        )

    def _update_held(self, claim: Claim, **values: Any) -> None:
        with writing(self._engine) as connection:
            self._fence(connection, claim, node=None)
            connection.execute(tasks.update().where(tasks.c.task_id == claim.task_id).values(**values))

    def saved_output(self, task_id: str, node: str) -> dict[str, Any] | None:
        """The output the step ``node`` of the task saved when it completed, or None."""
        with reading(self._engine) as connection:
            return connection.execute(
                sa.select(progress.c.output).where(
                    progress.c.task_id == task_id, progress.c.node == node, progress.c.status == Status.SUCCEEDED
                )
            ).scalar_one_or_none()

    def record_step(
        self,
        claim: Claim,
        node: str,
        status: Status,
        *,
        output: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        """Record that the step ``node`` started (running), completed (succeeded, with its output) or failed.

        Refused with :class:`ConflictError` when the claim is stale, or when the step already
        completed (its saved output is final). A step that failed, or that a previous owner left
        running, starts again under the current claim.
        """
        check_text(node=node)
        now = self._clock()
        key = (progress.c.task_id == claim.task_id, progress.c.node == node)
        values = {
            "status": status,
            "global_epoch": claim.epoch.global_epoch,
            "regional_epoch": claim.epoch.regional_epoch,
            "output": output,
            "error": error,
            "finished_at": None if status == Status.RUNNING else now,
        }
        with writing(self._engine) as connection:
            self._fence(connection, claim, node)
            saved = connection.execute(sa.select(progress.c.status).where(*key)).scalar_one_or_none()
            if saved is None:
                connection.execute(progress.insert().values(task_id=claim.task_id, node=node, started_at=now, **values))
            elif saved == Status.SUCCEEDED:
                raise ConflictError(ConflictReason.STEP_COMPLETED, claim.task_id, node)
            else:
                started = {"started_at": now} if status == Status.RUNNING else {}
                connection.execute(progress.update().where(*key).values(**values, **started))

    @staticmethod
    def _fence(connection: Connection, claim: Claim, node: str | None) -> None:
        """Lock the task's row and refuse the claim unless its epoch is the task's current one."""
        row = connection.execute(
            sa.select(tasks.c.status, tasks.c.global_epoch, tasks.c.regional_epoch)
            .where(tasks.c.task_id == claim.task_id)
            .with_for_update()
        ).first()
        if row is None:
            raise KeyError(f"no task {claim.task_id}")
        current = Epoch(row.global_epoch, row.regional_epoch)
        if claim.epoch > current:
            raise ValueError(f"task {claim.task_id} never issued epoch {claim.epoch} (current {current})")
        if claim.epoch < current or row.status != Status.RUNNING:
            raise ConflictError(ConflictReason.STALE_EPOCH, claim.task_id, node)
