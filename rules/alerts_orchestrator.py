"""Alerts on the orchestrator: domains no shard answers, failovers, stale task writes, a task backlog."""

from __future__ import annotations

from collections.abc import Callable

from observatory.config import ObservatoryConfig
from observatory.config.vocabulary import DISTRIBUTED_REASONING, INTER_CEREBRAL
from observatory.rules.histories import cases, counter, counter_signal, gauge, signal
from observatory.rules.model import Alert, Group, Labels, Series, number, seconds
from observatory.rules.probes import Probe

ROUTING_PANEL = (INTER_CEREBRAL, "Orchestrator Failovers")
TASKS_PANEL = (DISTRIBUTED_REASONING, "Durable Task Queue")
DOMAIN: Labels = (("domain", "legal"),)
DOMAINS = (DOMAIN, (("domain", "finance"),))
INSTANCE: Labels = (("instance", "orchestrator-0:8000"),)
INSTANCES = (INSTANCE, (("instance", "orchestrator-1:8000"),))
QUEUE = "themis_orchestrator_task_queue_depth"
CONFLICTS = "themis_orchestrator_store_conflicts_total"
UNROUTABLE = "themis_orchestrator_unroutable_requests_total"
FAILOVERS = "themis_orchestrator_failovers_total"


def _events(name: str, labels: Labels, window: str) -> Callable[[float], tuple[Series, ...]]:
    """A counter that rises by ``events`` in every ``window``."""
    return lambda events: (counter(name, labels, events / seconds(window)),)


def _event_probe(name: str, subjects: tuple[Labels, Labels], window: str) -> Probe:
    """Any event of counter ``name`` in ``window`` is one too many."""
    return Probe(counter_signal(name), ">", 0, subjects, aggregate="increase", window=window)


def _increase(name: str, by: str, window: str) -> str:
    return f"sum by ({by}) (increase({name}[{window}])) > 0"


def orchestrator_group(config: ObservatoryConfig) -> Group:
    """Routing and durable-task alerts (orchestrator metrics)."""
    backlog = config.thresholds.orchestrator_task_queue_depth
    d, routing, conflicts = config.for_durations, config.windows.routing, config.windows.store_conflicts
    alerts = (
        Alert(
            name="ThemisOrchestratorNoShardAnswers",
            expr=_increase(UNROUTABLE, "domain", routing),
            severity="critical",
            for_=d.orchestrator_no_shard,
            summary="Requests of a domain get 503: no shard can answer them.",
            description=(
                f"{{{{ $value | humanize }}}} requests of domain {{{{ $labels.domain }}}} found no shard in {routing}."
            ),
            meaning=(
                f"In every {routing} window for {d.orchestrator_no_shard} the orchestrator answered requests of this"
                " domain with 503: the domain's primary, its backups and every other shard were down, timed out,"
                " or answered 5xx or 429."
            ),
            actions=(
                "Check the Shard Health panel: which shards are down, and why (their /health and logs)?",
                "If every shard answers 429, the cluster is saturated: add shards or lower the load.",
            ),
            panel=ROUTING_PANEL,
            seeds=("000: test_shard_failover (no shard left to fail over to)",),
            check=_event_probe(UNROUTABLE, DOMAINS, routing),
            **cases(_events(UNROUTABLE, DOMAIN, routing), DOMAIN, (30.0, 0.0)),
        ),
        Alert(
            name="ThemisOrchestratorFailingOver",
            expr=_increase(FAILOVERS, "domain", routing),
            severity="warning",
            for_=d.orchestrator_failover,
            summary="A domain's primary shard is not answering; backups serve its requests.",
            description=(
                f"{{{{ $value | humanize }}}} requests of domain {{{{ $labels.domain }}}} were answered by another"
                f" shard than its primary in {routing}."
            ),
            meaning=(
                f"In every {routing} window for {d.orchestrator_failover} requests of this domain went to a backup or"
                " another healthy shard: users are served, but by a shard without the domain's documents and"
                " adapters, and with less spare capacity."
            ),
            actions=(
                "Check the domain's primary shard: is it up (ThemisShardDown), overloaded (429) or failing (5xx)?",
                "Restart or scale the primary; failovers stop once it answers again.",
            ),
            panel=ROUTING_PANEL,
            seeds=("000: test_shard_failover",),
            check=_event_probe(FAILOVERS, DOMAINS, routing),
            **cases(_events(FAILOVERS, DOMAIN, routing), DOMAIN, (30.0, 0.0)),
        ),
        Alert(
            name="ThemisOrchestratorStaleTaskWrites",
            expr=_increase(CONFLICTS, "instance", conflicts),
            severity="warning",
            for_=d.orchestrator_stale_writes,
            summary="The task store refused progress from an orchestrator that lost its task.",
            description=(
                "Orchestrator {{ $labels.instance }} had {{ $value | humanize }} progress writes refused by the"
                f" epoch rule in {conflicts}."
            ),
            meaning=(
                "A replica kept working on a task whose lease another replica took over (a newer epoch); the store"
                " refused its writes, so no progress was lost, but the replica was too slow to renew its lease."
            ),
            actions=(
                "Check the refused replica for long pauses: CPU starvation, garbage collection, a slow database.",
                "If takeovers are frequent, raise the task lease or give the replicas more headroom.",
            ),
            panel=TASKS_PANEL,
            seeds=("003: epoch fencing refuses a stale owner",),
            check=_event_probe(CONFLICTS, INSTANCES, conflicts),
            **cases(_events(CONFLICTS, INSTANCE, conflicts), INSTANCE, (10.0, 0.0)),
        ),
        Alert(
            name="ThemisOrchestratorTaskBacklog",
            expr=f"max by (instance) ({QUEUE}) > {number(backlog)}",
            severity="warning",
            for_=d.orchestrator_backlog,
            summary="Durable tasks are queuing faster than the orchestrators run them.",
            description=(
                "{{ $value | humanize }} tasks wait in the store of {{ $labels.instance }}, more than"
                f" {number(backlog)}."
            ),
            meaning=(
                f"More than {number(backlog)} tasks waited for an owner for {d.orchestrator_backlog}: submitted work"
                " is delayed."
            ),
            actions=(
                "Check that every orchestrator replica runs its task runner (no errors in its log).",
                "Add orchestrator replicas sharing the PostgreSQL store, or more shards if steps are slow.",
            ),
            panel=TASKS_PANEL,
            seeds=("003: task queue",),
            check=Probe(signal(QUEUE), ">", backlog, INSTANCES),
            **cases(lambda v: (gauge(QUEUE, INSTANCE, v),), INSTANCE, (backlog * 2, backlog)),
        ),
    )
    return Group("themis-orchestrator-alerts", alerts)
