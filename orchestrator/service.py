"""The orchestrator: shards, metrics and the store wired together, and the calls every operation shares.

Routes and long operations call :meth:`Orchestrator.generate` and :meth:`Orchestrator.embed`, which
route to a shard with failover and record the routing; the store is synchronous and is called from
the event loop through ``asyncio.to_thread``.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, Protocol

from observatory.orchestrator.metrics import OrchestratorMetrics
from observatory.orchestrator.openai_models import ServedModels
from observatory.orchestrator.settings import OrchestratorSettings
from observatory.orchestrator.shards import Answer, NoShardAnsweredError, ShardPool, ShardRef
from observatory.runtime.errors import ShardError, input_error

log = logging.getLogger(__name__)

ORCHESTRATOR = "orchestrator"


class StoredDocument(Protocol):
    """A document as the store keeps it."""

    id: str
    domain: str
    title: str
    text: str


class StoredTask(Protocol):
    """A task as the store reports it."""

    id: str
    kind: str
    status: str
    request: dict
    result: dict | None
    error: str | None
    progress: list[tuple[str, str]]


class Store(Protocol):
    """What the orchestrator asks of the durable store (``observatory.orchestrator.durable``)."""

    def add_document(self, *, domain: str, title: str, text: str) -> str: ...

    def get_document(self, document_id: str) -> StoredDocument | None: ...

    def submit_task(self, kind: str, request: dict) -> str: ...

    def get_task(self, task_id: str) -> StoredTask | None: ...


@dataclass(frozen=True)
class Generated:
    """A completion and the shard that produced it."""

    shard: ShardRef
    text: str
    body: dict[str, Any]
    fallback_used: bool


class Orchestrator:
    """What the API serves: the shard pool, the metrics and the store."""

    def __init__(self, settings: OrchestratorSettings, store: Store, pool: ShardPool | None = None) -> None:
        self.settings = settings
        self.store = store
        self.pool = pool or ShardPool(settings)
        self.metrics = OrchestratorMetrics()
        self.served_models = ServedModels(self.pool)

    async def close(self) -> None:
        """Close the connections to the shards."""
        await self.pool.close()

    def check_target(self, shard: str, field: str) -> None:
        """422 naming ``field`` unless ``shard`` is a shard name or ``orchestrator``; unlike :meth:`target`,
        it does not take a turn of the round robin, so checking a DAG's steps leaves their spread alone."""
        if shard != ORCHESTRATOR:
            self.pool.shard(shard, field)

    def target(self, shard: str, field: str) -> tuple[str | None, list[ShardRef]]:
        """The domain and candidate shards for work addressed to ``shard`` (a shard or domain name).

        ``orchestrator`` means any healthy shard. A domain's primary name stands for its domain, so
        its backups answer when it is down. 422 naming ``field`` for an unknown name.
        """
        if shard == ORCHESTRATOR:
            return None, self.pool.candidates(None)
        ref = self.pool.shard(shard, field)
        if ref.domain is not None:
            return ref.domain, self.pool.candidates(ref.domain)
        return None, [ref, *(s for s in self.pool.candidates(None) if s.name != ref.name)]

    async def route(
        self, domain: str | None, candidates: list[ShardRef], method: str, path: str, task: bool = True, **kwargs: Any
    ) -> tuple[Answer, bool]:
        """The first answer among ``candidates``, recorded as a task routed to ``domain`` unless ``task`` is
        false (a helper call such as embeddings); whether it was a failover.

        503 naming every shard's failure when none answered.
        """
        label = domain or "other"
        if task:
            self.metrics.routed(label)
        try:
            answer = await self.pool.first_answer(candidates, method, path, **kwargs)
        except NoShardAnsweredError as error:
            self.metrics.unroutable(label)
            raise ShardError(503, f"no shard could answer: {error}", "domain" if domain else None) from None
        fallback = domain is not None and answer.shard.name != self.pool.primary(domain).name
        if fallback:
            self.metrics.failover(domain, self.pool.primary(domain).name, answer.shard.name)
        return answer, fallback

    async def generate(
        self, shard: str, prompt: str, max_tokens: int, field: str = "shard", temperature: float = 0.7
    ) -> Generated:
        """A completion of ``prompt`` on ``shard`` (shard, domain or ``orchestrator``), with failover."""
        domain, candidates = self.target(shard, field)
        body = {"prompt": prompt, "max_tokens": max_tokens, "temperature": temperature}
        answer, fallback = await self.route(domain, candidates, "POST", "/api/v1/inference", json=body,
                                            timeout=self.settings.timeouts.inference)  # fmt: skip
        return Generated(answer.shard, answer.body["text"], answer.body, fallback)

    async def embed(self, texts: list[str]) -> tuple[str, list[list[float]]]:
        """Embeddings of ``texts`` from one shard (so that they share one space), and that shard's name."""
        answer, _ = await self.route(None, self.pool.candidates(None), "POST", "/api/v1/embeddings", task=False,
                                     json={"texts": texts}, timeout=self.settings.timeouts.search)  # fmt: skip
        return answer.shard.name, answer.body["vectors"]

    async def in_store(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call the synchronous store off the event loop; the store's ValueError (text it cannot keep,
        ``"<field>: <reason>"``) is a 422 naming that field."""
        try:
            return await asyncio.to_thread(getattr(self.store, method), *args, **kwargs)
        except ValueError as error:
            raise input_error(str(error).partition(":")[0], str(error)) from None
