"""Alerts on the orchestrator: domains no shard answers, failovers, stale task writes, a task backlog."""

from __future__ import annotations

from observatory.rules.histories import counter, gauge
from observatory.rules.model import Alert, Case, Group, Labels, number
from observatory.rules.thresholds import RuleConfig

INTER_CEREBRAL = "themis-inter-cerebral"
DISTRIBUTED_REASONING = "themis-distributed-reasoning"
ROUTING_PANEL = (INTER_CEREBRAL, "Orchestrator Failovers")
TASKS_PANEL = (DISTRIBUTED_REASONING, "Durable Task Queue")
DOMAIN: Labels = (("domain", "legal"),)
INSTANCE: Labels = (("instance", "orchestrator:8000"),)
CONFLICT_WINDOW = "10m"
QUEUE = "themis_orchestrator_task_queue_depth"


def _by_domain(name: str, per_second: float) -> Case:
    """A counter of domain legal rising at ``per_second``; the rate alert fires with that value unless 0."""
    series = (counter(name, DOMAIN, per_second),)
    return Case(series, per_second, DOMAIN) if per_second else Case(series)


def orchestrator_group(config: RuleConfig) -> Group:
    """Routing and durable-task alerts (orchestrator metrics)."""
    backlog = config.thresholds.orchestrator_task_queue_depth
    conflicts = "themis_orchestrator_store_conflicts_total"
    alerts = (
        Alert(
            name="ThemisOrchestratorNoShardAnswers",
            expr="sum by (domain) (rate(themis_orchestrator_unroutable_requests_total[5m])) > 0",
            severity="critical",
            for_="1m",
            summary="Requests of a domain get 503: no shard can answer them.",
            description="{{ $value | humanize }} requests per second of domain {{ $labels.domain }} found no shard.",
            meaning=(
                "For 1 minute the orchestrator answered requests of this domain with 503: the domain's primary,"
                " its backups and every other shard were down, timed out, or answered 5xx or 429."
            ),
            actions=(
                "Check the Shard Health Heatmap: which shards are down, and why (their /health and logs)?",
                "If every shard answers 429, the cluster is saturated: add shards or lower the load.",
            ),
            panel=ROUTING_PANEL,
            seeds=("000: test_shard_failover (no shard left to fail over to)",),
            firing=_by_domain("themis_orchestrator_unroutable_requests_total", 0.5),
            silent=_by_domain("themis_orchestrator_unroutable_requests_total", 0),
        ),
        Alert(
            name="ThemisOrchestratorFailingOver",
            expr="sum by (domain) (rate(themis_orchestrator_failovers_total[5m])) > 0",
            severity="warning",
            for_="5m",
            summary="A domain's primary shard is not answering; backups serve its requests.",
            description=(
                "{{ $value | humanize }} requests per second of domain {{ $labels.domain }} were answered by"
                " another shard than its primary."
            ),
            meaning=(
                "For 5 minutes requests of this domain went to a backup or another healthy shard: users are served,"
                " but by a shard without the domain's documents and adapters, and with less spare capacity."
            ),
            actions=(
                "Check the domain's primary shard: is it up (ThemisShardDown), overloaded (429) or failing (5xx)?",
                "Restart or scale the primary; failovers stop once it answers again.",
            ),
            panel=ROUTING_PANEL,
            seeds=("000: test_shard_failover",),
            firing=_by_domain("themis_orchestrator_failovers_total", 0.2),
            silent=_by_domain("themis_orchestrator_failovers_total", 0),
        ),
        Alert(
            name="ThemisOrchestratorStaleTaskWrites",
            expr=f"sum by (instance) (increase({conflicts}[{CONFLICT_WINDOW}])) > 0",
            severity="warning",
            for_="0s",
            summary="The task store refused progress from an orchestrator that lost its task.",
            description=(
                "Orchestrator {{ $labels.instance }} had {{ $value | humanize }} progress writes refused by the"
                f" epoch rule in {CONFLICT_WINDOW}."
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
            firing=Case((counter(conflicts, INSTANCE, 1 / 60),), 10.0, INSTANCE),
            silent=Case((counter(conflicts, INSTANCE, 0),)),
        ),
        Alert(
            name="ThemisOrchestratorTaskBacklog",
            expr=f"max by (instance) ({QUEUE}) > {number(backlog)}",
            severity="warning",
            for_="10m",
            summary="Durable tasks are queuing faster than the orchestrators run them.",
            description=(
                "{{ $value | humanize }} tasks wait in the store of {{ $labels.instance }}, more than"
                f" {number(backlog)}."
            ),
            meaning=(
                f"More than {number(backlog)} tasks waited for an owner for 10 minutes: submitted work is delayed."
            ),
            actions=(
                "Check that every orchestrator replica runs its task runner (no errors in its log).",
                "Add orchestrator replicas sharing the PostgreSQL store, or more shards if steps are slow.",
            ),
            panel=TASKS_PANEL,
            seeds=("003: task queue",),
            firing=Case((gauge(QUEUE, INSTANCE, backlog * 2),), backlog * 2, INSTANCE),
            silent=Case((gauge(QUEUE, INSTANCE, backlog),)),
        ),
    )
    return Group("themis-orchestrator-alerts", alerts)
