"""Names that rules, dashboards, manifests and services share: recorded series, SLOs, dashboard identities,
and the environment variable that carries the orchestrator's store URL.

It sits below ``dashboards/`` and ``rules/`` so that neither imports the other: the rules record these
series and link to these dashboards, the dashboards plot the series and show the objectives.
"""

from __future__ import annotations

from dataclasses import dataclass

from observatory.config.model import ObservatoryConfig

# The Kubernetes Deployment hands the store's URL (it holds the database password) to the orchestrator
# from a Secret, in this environment variable.
STORE_URL_ENV = "THEMIS_STORE_URL"

# Recording rules' outputs, named level:metric:operations; the rate window is part of the name.
RATE_WINDOW = "5m"
REQUESTS_RATE = "shard:themis_inference_requests:rate5m"
CLUSTER_REQUESTS_RATE = "cluster:themis_inference_requests:rate5m"
LATENCY_BUCKET_RATE = "shard_le:themis_inference_latency_seconds_bucket:rate5m"
LATENCY_QUANTILE = "shard_quantile:themis_inference_latency_seconds:histogram_quantile"
CLUSTER_LATENCY_QUANTILE = "cluster_quantile:themis_inference_latency_seconds:histogram_quantile"
LORA_SWITCH_QUANTILE = "shard_quantile:themis_lora_switch_latency_seconds:histogram_quantile"
VECTOR_SEARCH_QUANTILE = "shard_quantile:themis_vector_search_latency_seconds:histogram_quantile"
TTFT_QUANTILE = "shard_quantile:themis_inference_time_to_first_token_seconds:histogram_quantile"
QUEUE_TIME_QUANTILE = "shard_quantile:themis_inference_queue_time_seconds:histogram_quantile"
QUEUE_USAGE = "shard:themis_request_queue_usage:ratio"
# Share of requests meeting a goodput objective (label objective: time_to_first_token, time_per_output_token).
GOODPUT_ATTAINMENT = "shard:themis_inference_requests_within_objective:ratio_rate5m"
TOKENS_PER_SECOND = "shard:themis_generated_tokens_per_second:ratio_rate5m"
KV_MISS_RATIO = "shard:themis_kv_cache_misses_per_lookup:ratio_rate5m"
CPU_USAGE = "shard:themis_cpu_usage:ratio_rate5m"
RAM_USAGE = "shard:themis_ram_usage:ratio"
VRAM_USAGE = "shard_gpu:themis_vram_usage:ratio"
# Hourly amounts for the cost dashboard: a trailing hour's increase, summed or averaged over days, so that
# cost panels never evaluate a raw multi-day window at every step.
SUCCESSES_1H = "shard:themis_inference_successes:increase1h"
GPU_ENERGY_1H = "shard:themis_gpu_energy_joules:increase1h"
TOKENS_1H = "shard:themis_processed_tokens:increase1h"
# SLO series: the error ratio over a window is SLI_ERRORS + window (…ratio_rate5m, …ratio_rate30d).
SLI_ERRORS = "shard:themis_slo_errors_per_request:ratio_rate"
BUDGET_REMAINING = "shard:themis_slo_error_budget_remaining:ratio"
# The uptime SLO is per scrape target (a dead shard has no series of its own left to carry `shard`).
UPTIME_ERRORS = "instance:themis_slo_errors_per_scrape:ratio_rate"
UPTIME_BUDGET_REMAINING = "instance:themis_slo_error_budget_remaining:ratio"

# Dashboard uids that alerts link to.
CLUSTER_OVERVIEW = "themis-cluster-overview"
LLM_INFERENCE = "themis-llm-inference"
VECTOR_SEARCH = "themis-vector-search"
INTER_CEREBRAL = "themis-inter-cerebral"
DISTRIBUTED_REASONING = "themis-distributed-reasoning"
COST_ROI = "themis-cost-roi"


@dataclass(frozen=True)
class Objective:
    """One service-level objective: its ``slo`` label value, title and target share of good events."""

    name: str
    title: str
    objective: float

    @property
    def budget(self) -> float:
        """The share of events allowed to be bad."""
        return 1 - self.objective


def objectives(config: ObservatoryConfig) -> tuple[Objective, ...]:
    """The objectives seed 000 sets, at the configured targets."""
    return (
        Objective("availability", "Availability", config.slo.availability_objective),
        Objective("latency", "Latency", config.slo.latency_objective),
    )
