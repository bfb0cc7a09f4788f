"""Metrics of the orchestrator: cross-shard traffic, federated RAG and distributed reasoning."""

from observatory.catalogue.labels import DESTINATION_SHARD, DOMAIN, SHARD, SOURCE_SHARD
from observatory.metric import Label, Metric, MetricType, SeedName, Source, Unit

MESSAGE_TYPE = Label(
    "message_type",
    "The kind of cross-shard message.",
    values=("lora_request", "federated_query", "consensus_vote"),
)
MODE = Label("mode", "How the reasoning steps ran.", values=("parallel", "sequential"))
REASONING_DEPTH = Label(
    "reasoning_depth",
    "The chain-of-thought length class: 5, 10 or 20 steps, or other.",
    values=("5", "10", "20", "other"),
)
COMPLEXITY = Label(
    "complexity",
    "Task complexity class: simple (<5 steps), medium (5-10), complex (>10).",
    values=("simple", "medium", "complex"),
)
TASK_TYPE = Label("task_type", "The reasoning strategy.", values=("cot", "dag", "hierarchical", "consensus"))
STEP = Label("step", "The reasoning step's name in its DAG; names beyond the bound fold into 'other'.", max_values=32)
PERSPECTIVE_A = Label("perspective_a", "The first perspective (shard) of a compared pair.", max_values=16)
PERSPECTIVE_B = Label("perspective_b", "The second perspective (shard) of a compared pair.", max_values=16)

_PAIR = (SOURCE_SHARD, DESTINATION_SHARD)
_REASONING_BUCKETS = (0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0)


def _orchestrator(name: str, type: MetricType, help: str, unit: Unit = Unit.NONE, labels=(), **kwargs) -> Metric:
    return Metric(name, type, help, unit, Source.ORCHESTRATOR, tuple(labels), **kwargs)


ORCHESTRATOR_METRICS = (
    _orchestrator(
        "themis_lora_transfers_total",
        MetricType.COUNTER,
        "LoRA adapters copied from one shard to another.",
        labels=_PAIR,
    ),
    _orchestrator(
        "themis_lora_transfer_bytes_total",
        MetricType.COUNTER,
        "Bytes of LoRA adapters copied from one shard to another.",
        Unit.BYTES,
        _PAIR,
        seed=SeedName("themis_lora_transfer_bytes", "gauge of the last transfer became a counter of bytes"),
    ),
    _orchestrator(
        "themis_cross_shard_queries_total",
        MetricType.COUNTER,
        "Queries one shard's work sent to another shard.",
        labels=_PAIR,
    ),
    _orchestrator(
        "themis_cross_shard_messages_total",
        MetricType.COUNTER,
        "Messages exchanged between shards through the orchestrator, by type.",
        labels=(MESSAGE_TYPE, *_PAIR),
    ),
    _orchestrator(
        "themis_inter_shard_sent_bytes_total",
        MetricType.COUNTER,
        "Bytes the orchestrator relayed from one shard to another.",
        Unit.BYTES,
        _PAIR,
        seed=SeedName("themis_network_bytes_sent_total{source_shard,destination_shard}"),
    ),
    _orchestrator(
        "themis_federated_queries_total",
        MetricType.COUNTER,
        "Federated RAG sub-queries the orchestrator sent to each shard.",
        labels=(SHARD,),
        seed=SeedName("themis_federated_queries_total{participating_shards}", "one series per shard"),
    ),
    _orchestrator(
        "themis_federated_query_shards",
        MetricType.HISTOGRAM,
        "Shards that took part in one federated RAG query.",
        buckets=(1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0),
    ),
    _orchestrator(
        "themis_orchestrator_tasks_total",
        MetricType.COUNTER,
        "Tasks the orchestrator routed, by domain.",
        labels=(DOMAIN,),
    ),
    _orchestrator(
        "themis_multi_perspective_consensus_latency_seconds",
        MetricType.HISTOGRAM,
        "Time to reach consensus over several shards' perspectives, in seconds.",
        Unit.SECONDS,
        buckets=(0.1, 0.5, 1.0, 2.0, 5.0, 10.0),
    ),
    _orchestrator(
        "themis_perspective_agreement_ratio",
        MetricType.GAUGE,
        "Share of findings on which two perspectives agreed in recent consensus rounds (0-1).",
        Unit.RATIO,
        (PERSPECTIVE_A, PERSPECTIVE_B),
        seed=SeedName(
            "themis_perspective_agreement_rate", "percent / 100", "60-80 % typical → 0.6-0.8"
        ),
    ),
    _orchestrator(
        "themis_cot_steps_executed_total",
        MetricType.COUNTER,
        "Chain-of-thought steps executed, by the chain's length class.",
        labels=(REASONING_DEPTH,),
    ),
    _orchestrator(
        "themis_distributed_cot_latency_seconds",
        MetricType.HISTOGRAM,
        "Wall time of a distributed chain-of-thought, by execution mode, in seconds.",
        Unit.SECONDS,
        (MODE,),
        buckets=_REASONING_BUCKETS,
    ),
    _orchestrator(
        "themis_hierarchical_task_depth",
        MetricType.HISTOGRAM,
        "Levels a hierarchical decomposition reached.",
        buckets=(1.0, 2.0, 3.0, 4.0, 5.0, 8.0),
    ),
    _orchestrator(
        "themis_reasoning_task_total",
        MetricType.COUNTER,
        "Reasoning tasks finished, by complexity.",
        labels=(COMPLEXITY,),
    ),
    _orchestrator(
        "themis_reasoning_task_success_total",
        MetricType.COUNTER,
        "Reasoning tasks finished successfully, by complexity.",
        labels=(COMPLEXITY,),
    ),
    _orchestrator(
        "themis_reasoning_task_duration_seconds",
        MetricType.HISTOGRAM,
        "Wall time of a distributed reasoning task, in seconds.",
        Unit.SECONDS,
        (TASK_TYPE, COMPLEXITY),
        buckets=_REASONING_BUCKETS,
    ),
    _orchestrator(
        "themis_reasoning_step_start_timestamp_seconds",
        MetricType.GAUGE,
        "Unix time the latest run of each reasoning step started, in seconds.",
        Unit.SECONDS,
        (STEP,),
        seed=SeedName("themis_reasoning_step_start_time"),
    ),
    _orchestrator(
        "themis_reasoning_step_end_timestamp_seconds",
        MetricType.GAUGE,
        "Unix time the latest run of each reasoning step ended, in seconds.",
        Unit.SECONDS,
        (STEP,),
        seed=SeedName("themis_reasoning_step_end_time"),
    ),
    # What operating the orchestrator needs beyond seed 000's catalogue.
    _orchestrator(
        "themis_orchestrator_failovers_total",
        MetricType.COUNTER,
        "Requests for a domain answered by another shard than the domain's primary (backup or any healthy shard).",
        labels=(DOMAIN,),
    ),
    _orchestrator(
        "themis_orchestrator_unroutable_requests_total",
        MetricType.COUNTER,
        "Requests for a domain that no shard could answer (503 to the client).",
        labels=(DOMAIN,),
    ),
    _orchestrator(
        "themis_orchestrator_store_conflicts_total",
        MetricType.COUNTER,
        "Progress writes the task store refused because a newer epoch owns the task (a stale owner fenced off).",
    ),
    _orchestrator(
        "themis_orchestrator_task_queue_depth",
        MetricType.GAUGE,
        "Durable tasks queued in the store, waiting for an owner to run them.",
    ),
)
