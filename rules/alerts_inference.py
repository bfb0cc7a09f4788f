"""Alerts on the shard runtime: health, latency, throughput, errors, tokens, caches, fragmentation."""

from __future__ import annotations

from observatory.config import ObservatoryConfig
from observatory.config.vocabulary import CLUSTER_OVERVIEW, LLM_INFERENCE, SLI_ERRORS
from observatory.rules import recording as rec
from observatory.rules.histories import SHARD, above, below, cases, counter, gauge
from observatory.rules.model import Alert, Case, Group, Series, number, seconds
from observatory.rules.templates import DURATION, HUMANIZE, PERCENT, SHARD_REF

AVAILABILITY_5M = f'{SLI_ERRORS}5m{{slo="availability"}}'

_LATENCY_ACTIONS = (
    "Open the Inference Latency Breakdown panel: a slow generation stage points at the GPU, a slow"
    " prompt_eval at long prompts or KV-cache misses.",
    "Check GPU utilisation and VRAM on the shard; a GPU that fell back to CPU is 5-10x slower.",
    "Shed load or add a shard if the request rate rose with the latency.",
)


def _latency_alert(name: str, quantile: float, threshold: float, for_: str, seeds: tuple[str, ...]) -> Alert:
    label = f"p{number(quantile * 100)}"
    return Alert(
        name=name,
        expr=f'{rec.LATENCY_QUANTILE}{{quantile="{number(quantile)}"}} > {number(threshold)}',
        severity="warning",
        for_=for_,
        summary=f"Inference {label} latency of a shard is above {number(threshold)} seconds.",
        description=f"{label} inference latency on shard {SHARD_REF} is {DURATION}, above {number(threshold)} s.",
        meaning=(
            f"The {label} of successful inference requests over the last 5 minutes exceeded"
            f" {number(threshold)} s for {for_}."
        ),
        actions=_LATENCY_ACTIONS,
        panel=(CLUSTER_OVERVIEW, "Aggregate Latency"),
        seeds=seeds,
        **cases(lambda v: rec.latency_history(quantile, v), (*SHARD, ("quantile", number(quantile))), above(threshold)),
    )


def _error_alert(name: str, threshold: float, severity: str, for_: str, seeds: tuple[str, ...]) -> Alert:
    return Alert(
        name=name,
        expr=f"{AVAILABILITY_5M} > {number(threshold)}",
        severity=severity,
        for_=for_,
        summary=f"More than {number(threshold * 100)} % of a shard's inference requests fail.",
        description=(
            f"{PERCENT} of inference requests on shard {SHARD_REF} ended in a server error or a rejection"
            f" over 5 minutes, above {number(threshold * 100)} %."
        ),
        meaning=(
            "Requests that end in a server error (5xx) or are rejected at capacity (429), as a share of"
            f" all inference requests over 5 minutes, stayed above {number(threshold * 100)} % for {for_}."
        ),
        actions=(
            "Split by status: rejections mean the shard is at capacity (scale out or shed load),"
            " server errors mean the engine fails (read the shard's log).",
            "Check whether the model is loaded (themis_model_loaded) and the GPU available.",
        ),
        panel=(CLUSTER_OVERVIEW, "Total Throughput"),
        seeds=seeds,
        **cases(lambda v: rec.requests_history(SHARD, 10.0, v), (*SHARD, ("slo", "availability")), above(threshold)),
    )


def _fragmentation_history(window: str):
    """``events`` fragmentation events in every alert ``window``."""

    def history(events: float) -> tuple[Series, ...]:
        per_second = events / seconds(window)
        return (counter("themis_cuda_fragmentation_events_total", SHARD, per_second),)

    return history


def inference_group(config: ObservatoryConfig) -> Group:
    """Alerts on what the shards record about their own work."""
    t = config.thresholds
    d = config.for_durations
    window = config.windows.fragmentation
    alerts = (
        Alert(
            name="ThemisShardDown",
            expr="min by (shard) (themis_shard_health_status) == 0",
            severity="critical",
            for_=d.shard_down,
            summary="A shard reports itself unhealthy.",
            description=f"Shard {SHARD_REF} reports health status {HUMANIZE}; 0 means unhealthy.",
            meaning=(
                "The shard's own health probe says unhealthy: the model is not loaded, or the GPU it needs"
                " is gone. 0.5 (degraded: VRAM or request capacity nearly full) does not fire this alert."
            ),
            actions=(
                "Query the shard's /health endpoint: it names the failing check.",
                "Check themis_model_loaded and themis_gpu_available for the shard.",
                "Restart the shard if the model failed to load; route its domain elsewhere meanwhile.",
            ),
            panel=(CLUSTER_OVERVIEW, "Shard Health Heatmap"),
            seeds=("000: Shard Down",),
            firing=Case((gauge("themis_shard_health_status", SHARD, 0),), 0.0, SHARD),
            silent=Case((gauge("themis_shard_health_status", SHARD, 0.5),)),
        ),
        _latency_alert(
            "ThemisInferenceLatencyHigh", 0.95, t.latency_p95_seconds, d.latency_p95, ("000: High Latency",)
        ),
        _latency_alert(
            "ThemisInferenceLatencyP99High",
            0.99,
            t.latency_p99_seconds,
            d.latency_p99,
            ("001: p99 latency above target",),
        ),
        Alert(
            name="ThemisThroughputLow",
            expr=f"{rec.CLUSTER_REQUESTS_RATE} < {number(t.min_cluster_requests_per_second)}",
            severity="warning",
            for_=d.throughput_low,
            summary="The cluster finishes fewer inference requests than its throughput target.",
            description=(
                f"The cluster finishes {HUMANIZE} inference requests per second,"
                f" below {number(t.min_cluster_requests_per_second)}."
            ),
            meaning=(
                "All shards together finished fewer than"
                f" {number(t.min_cluster_requests_per_second)} inference requests per second for {d.throughput_low}."
                " With no request series at all the alert stays silent: ThemisShardTargetMissing covers that."
            ),
            actions=(
                "Compare with the request rate at the orchestrator: low demand is not an incident.",
                "If demand is there, look for shards that are down or rejecting (ThemisShardDown, error alerts).",
            ),
            panel=(CLUSTER_OVERVIEW, "Total Throughput"),
            seeds=("001: throughput below target", "004: Low Throughput"),
            **cases(lambda v: rec.requests_history(SHARD, v), (), below(t.min_cluster_requests_per_second)),
        ),
        _error_alert(
            "ThemisInferenceErrorsHigh", t.error_ratio_warning, "warning", d.errors, ("001: error rate above 1 %",)
        ),
        _error_alert(
            "ThemisInferenceErrorsCritical", t.error_ratio_critical, "critical", d.errors, ("004: High Error Rate",)
        ),
        Alert(
            name="ThemisTokenGenerationLow",
            expr=f"{rec.TOKENS_PER_SECOND} < {number(t.min_tokens_per_second)}",
            severity="warning",
            for_=d.token_generation_low,
            summary="A shard generates tokens slower than its floor.",
            description=(
                f"Shard {SHARD_REF} generates {HUMANIZE} tokens per second of generation time,"
                f" below {number(t.min_tokens_per_second)}."
            ),
            meaning=(
                "Decode speed (tokens generated per second spent in the generation stage) stayed under"
                f" {number(t.min_tokens_per_second)} for {d.token_generation_low}."
            ),
            actions=(
                "Check GPU utilisation and clocks: a throttled or CPU-only shard decodes at a fraction of the speed.",
                "Check the batch size panel: oversized batches slow each sequence down.",
            ),
            panel=(LLM_INFERENCE, "Tokens per Second"),
            seeds=("000: Low Token Generation",),
            **cases(rec.tokens_history, SHARD, below(t.min_tokens_per_second)),
        ),
        Alert(
            name="ThemisKVCacheMissRateHigh",
            expr=f"{rec.KV_MISS_RATIO} > {number(t.kv_cache_miss_ratio)}",
            severity="warning",
            for_=d.kv_cache_miss,
            summary="A shard misses its KV cache for too many prompt tokens.",
            description=(
                f"Shard {SHARD_REF} misses its KV cache for {PERCENT} of prompt tokens,"
                f" above {number(t.kv_cache_miss_ratio * 100)} %."
            ),
            meaning=(
                "The share of prompt tokens not found in the prefix (KV) cache stayed above"
                f" {number(t.kv_cache_miss_ratio * 100)} % for {d.kv_cache_miss}; each miss is evaluated again."
            ),
            actions=(
                "Check KV-cache usage: a full cache evicts prefixes before they are reused.",
                "Check whether the traffic mix changed (new prompts share no prefix).",
            ),
            panel=(LLM_INFERENCE, "KV Cache Efficiency (PagedAttention)"),
            seeds=("000: High KV Cache Miss Rate",),
            **cases(rec.kv_cache_history, SHARD, above(t.kv_cache_miss_ratio)),
        ),
        Alert(
            name="ThemisLoRASwitchingSlow",
            expr=f'{rec.LORA_SWITCH_QUANTILE}{{quantile="0.95"}} > {number(t.lora_switch_p95_seconds)}',
            severity="warning",
            for_=d.lora_switch,
            summary="LoRA adapter switches on a shard are slow.",
            description=(
                f"p95 LoRA adapter switch time on shard {SHARD_REF} is {DURATION},"
                f" above {number(t.lora_switch_p95_seconds)} s."
            ),
            meaning=(
                f"The p95 time to switch the adapters applied to the context exceeded"
                f" {number(t.lora_switch_p95_seconds)} s over 5 minutes, for {d.lora_switch}."
            ),
            actions=(
                "Check the LoRA cache hit rate: misses load adapters from disk.",
                "Check the number of active adapters: past 8 the shard runs short of memory.",
            ),
            panel=(LLM_INFERENCE, "LoRA Adapter Switching Time"),
            seeds=("000: Slow LoRA Switching",),
            **cases(
                lambda v: rec.lora_switch_history(0.95, v),
                (*SHARD, ("quantile", "0.95")),
                above(t.lora_switch_p95_seconds),
            ),
        ),
        Alert(
            name="ThemisCUDAFragmentation",
            expr=(
                f"sum by (shard) (increase(themis_cuda_fragmentation_events_total[{window}]))"
                f" > {number(t.fragmentation_events)}"
            ),
            severity="warning",
            for_=d.fragmentation,
            summary="A shard's GPU allocator refuses allocations because device memory is fragmented.",
            description=(
                f"Shard {SHARD_REF} had {HUMANIZE} CUDA fragmentation events in {window},"
                f" more than {number(t.fragmentation_events)}."
            ),
            meaning=(
                "Allocations failed although enough device memory was free in total, because no free block"
                f" was large enough: more than {number(t.fragmentation_events)} such events in {window}."
            ),
            actions=(
                "Set PYTORCH_CUDA_ALLOC_CONF=max_split_size_mb:128 (seed 002's fix) or restart the shard.",
                "Check the request rate: fragmentation starts around ThemisFragmentationRiskZone's rate.",
            ),
            panel=(CLUSTER_OVERVIEW, "Memory Usage (RAM + VRAM)"),
            seeds=("002: CUDA fragmentation events",),
            # 30 events in the window fire whatever the threshold; 90 % of it stays silent.
            **cases(_fragmentation_history(window), SHARD, (t.fragmentation_events + 30, t.fragmentation_events * 0.9)),
        ),
        Alert(
            name="ThemisFragmentationRiskZone",
            expr=f"{rec.REQUESTS_RATE} > {number(t.fragmentation_risk_requests_per_second)}",
            severity="info",
            for_=d.fragmentation_risk,
            summary="A shard serves a request rate at which GPU memory starts to fragment.",
            description=(
                f"Shard {SHARD_REF} serves {HUMANIZE} inference requests per second, inside the"
                f" fragmentation-risk zone above {number(t.fragmentation_risk_requests_per_second)}."
            ),
            meaning=(
                f"Above {number(t.fragmentation_risk_requests_per_second)} requests per second seed 002"
                " measured CUDA memory fragmentation and p95 latency spikes on a single-GPU shard."
            ),
            actions=(
                "Watch ThemisCUDAFragmentation and the p95 latency of the shard.",
                "Spread the load over more shards before the allocator starts refusing blocks.",
            ),
            panel=(CLUSTER_OVERVIEW, "Total Throughput"),
            seeds=("002: request rate in the fragmentation-risk zone",),
            **cases(lambda v: rec.requests_history(SHARD, v), SHARD, above(t.fragmentation_risk_requests_per_second)),
        ),
    )
    return Group("themis-inference-alerts", alerts)
