"""The orchestrator's instruments, built from the catalogue, and the calls that record into them.

Every ``Source.ORCHESTRATOR`` catalogue entry becomes one live instrument in the orchestrator's own
registry. Label values that come from configuration or requests (shard, step, perspective names) are
folded to the catalogue's bounds, so no request can grow the series count without limit.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from observatory.catalogue import CATALOGUE
from observatory.catalogue.labels import DESTINATION_SHARD, DOMAIN, SHARD, SOURCE_SHARD
from observatory.catalogue.orchestrator import PERSPECTIVE_A, PERSPECTIVE_B, STEP
from observatory.exposition import instrument
from observatory.metric import Source
from observatory.runtime.metrics import LabelFolder, _CatalogueOnly

ORCHESTRATOR = "orchestrator"


def depth_class(steps: int) -> str:
    """The ``reasoning_depth`` label of a chain of ``steps`` steps: 5, 10, 20 or other."""
    return str(steps) if steps in (5, 10, 20) else "other"


def complexity_class(steps: int) -> str:
    """Seed 000's complexity slices: simple (< 5 steps), medium (5-10), complex (> 10)."""
    if steps < 5:
        return "simple"
    return "medium" if steps <= 10 else "complex"


class OrchestratorMetrics:
    """Records cross-shard traffic, federated RAG, reasoning and task outcomes into ``registry``."""

    def __init__(self) -> None:
        instruments = CollectorRegistry()
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_CatalogueOnly(instruments))
        self._i = {m.name: instrument(m, instruments) for m in CATALOGUE.by_source(Source.ORCHESTRATOR)}
        self._domain = LabelFolder(DOMAIN)
        self._shard = LabelFolder(SHARD)
        self._source = LabelFolder(SOURCE_SHARD)
        self._destination = LabelFolder(DESTINATION_SHARD)
        self._step = LabelFolder(STEP)
        self._a = LabelFolder(PERSPECTIVE_A)
        self._b = LabelFolder(PERSPECTIVE_B)

    def _pair(self, source: str, destination: str) -> tuple[str, str]:
        return self._source(source), self._destination(destination)

    def routed(self, domain: str) -> None:
        """A task (an inference, a reasoning step) was routed to ``domain``."""
        self._i["themis_orchestrator_tasks_total"].labels(self._domain(domain)).inc()

    def failover(self, domain: str, primary: str, answered_by: str) -> None:
        """``answered_by`` served a request of ``domain`` in place of its primary shard."""
        self._i["themis_orchestrator_failovers_total"].labels(self._domain(domain)).inc()
        self.cross_shard_query(primary, answered_by)

    def unroutable(self, domain: str) -> None:
        """No shard could answer a request of ``domain``."""
        self._i["themis_orchestrator_unroutable_requests_total"].labels(self._domain(domain)).inc()

    def cross_shard_query(self, source: str, destination: str) -> None:
        """Work of ``source`` was sent on to ``destination``."""
        self._i["themis_cross_shard_queries_total"].labels(*self._pair(source, destination)).inc()

    def message(self, message_type: str, source: str, destination: str, sent_bytes: int = 0) -> None:
        """One cross-shard message of ``message_type`` relayed through the orchestrator."""
        pair = self._pair(source, destination)
        self._i["themis_cross_shard_messages_total"].labels(message_type, *pair).inc()
        if sent_bytes:
            self._i["themis_inter_shard_sent_bytes_total"].labels(*pair).inc(sent_bytes)

    def relayed(self, source: str, destination: str, sent_bytes: int) -> None:
        """``sent_bytes`` of one shard's output were passed on to another shard."""
        if source != destination:
            self.cross_shard_query(source, destination)
            self._i["themis_inter_shard_sent_bytes_total"].labels(*self._pair(source, destination)).inc(sent_bytes)

    def lora_transfer(self, source: str, destination: str, moved_bytes: int) -> None:
        """An adapter of ``moved_bytes`` bytes was copied between shards."""
        pair = self._pair(source, destination)
        self._i["themis_lora_transfers_total"].labels(*pair).inc()
        self._i["themis_lora_transfer_bytes_total"].labels(*pair).inc(moved_bytes)
        self.message("lora_request", source, destination, moved_bytes)

    def federated(self, asked: list[str], answered: int) -> None:
        """One federated query asked ``asked`` shards, of which ``answered`` took part."""
        for shard in asked:
            self._i["themis_federated_queries_total"].labels(self._shard(shard)).inc()
            self.message("federated_query", ORCHESTRATOR, shard)
        self._i["themis_federated_query_shards"].observe(answered)

    def consensus(self, seconds: float, shards: list[str], agreement: dict[tuple[str, str], float]) -> None:
        """A consensus round over ``shards`` took ``seconds``; ``agreement`` holds each pair's ratio."""
        self._i["themis_multi_perspective_consensus_latency_seconds"].observe(seconds)
        for shard in shards:
            self.message("consensus_vote", shard, ORCHESTRATOR)
        for (a, b), ratio in agreement.items():
            self._i["themis_perspective_agreement_ratio"].labels(self._a(a), self._b(b)).set(ratio)

    def dag_started(self) -> None:
        """A new DAG starts: drop the previous DAGs' step times, so the timeline shows the last DAG only.

        The timeline is for one DAG at a time: DAGs that overlap (concurrent requests, durable tasks) mix
        their steps on it, and a step name they share shows the last writer's times."""
        for name in ("themis_reasoning_step_start_timestamp_seconds", "themis_reasoning_step_end_timestamp_seconds"):
            self._i[name].clear()

    def step(self, name: str, started: float, ended: float) -> None:
        """A reasoning step ran from ``started`` to ``ended`` (Unix seconds)."""
        step = self._step(name)
        self._i["themis_reasoning_step_start_timestamp_seconds"].labels(step).set(started)
        self._i["themis_reasoning_step_end_timestamp_seconds"].labels(step).set(ended)

    def reasoning(
        self, task_type: str, steps: int, chain: int, levels: int, mode: str | None, seconds: float, ok: bool
    ) -> None:
        """A reasoning task of ``steps`` steps in chains of ``chain`` steps over ``levels`` levels ended."""
        complexity = complexity_class(steps)
        self._i["themis_reasoning_task_total"].labels(complexity).inc()
        if ok:
            self._i["themis_reasoning_task_success_total"].labels(complexity).inc()
            self._i["themis_cot_steps_executed_total"].labels(depth_class(chain)).inc(steps)
        self._i["themis_reasoning_task_duration_seconds"].labels(task_type, complexity).observe(seconds)
        self._i["themis_hierarchical_task_depth"].observe(levels)
        if mode is not None:
            self._i["themis_distributed_cot_latency_seconds"].labels(mode).observe(seconds)

    def store_conflict(self) -> None:
        """The store refused a stale owner's progress write."""
        self._i["themis_orchestrator_store_conflicts_total"].inc()

    def queue_depth(self, depth: int) -> None:
        """The store holds ``depth`` tasks waiting for an owner."""
        self._i["themis_orchestrator_task_queue_depth"].set(depth)
