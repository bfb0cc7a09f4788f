"""Alerts on the shard runtime: health, latency, throughput, errors, tokens, caches, fragmentation."""

from __future__ import annotations

from observatory.config import ObservatoryConfig
from observatory.config.vocabulary import CLUSTER_OVERVIEW, LLM_INFERENCE, SLI_ERRORS, VECTOR_SEARCH
from observatory.rules import recording as rec
from observatory.rules.alerts_health import shard_crash_looping, shard_down, throughput_low
from observatory.rules.histories import (
    SHARD,
    SHARDS,
    above,
    below,
    cases,
    counter,
    counter_signal,
    level,
    signal,
)
from observatory.rules.model import Alert, Group, Series, number, seconds
from observatory.rules.probes import Condition, Probe, state
from observatory.rules.templates import DURATION, HUMANIZE, PERCENT, SHARD_REF

AVAILABILITY_5M = f'{SLI_ERRORS}5m{{slo="availability"}}'

_LATENCY_ACTIONS = (
    "Open the Inference Latency Breakdown panel: a slow generation stage points at the GPU, a slow"
    " prompt_eval at long prompts or KV-cache misses.",
    "Check GPU utilisation and VRAM on the shard; a GPU that fell back to CPU is 5-10x slower.",
    "Shed load or add a shard if the request rate rose with the latency.",
)


def _quantile_alert(name: str, record: str, quantile: float, threshold: float, for_: str, what: str, **text) -> Alert:
    """An alert on one quantile of a recorded per-shard histogram quantile; the quantile label is dropped."""
    label = f"p{number(quantile * 100)}"
    selector = f'{record}{{quantile="{number(quantile)}"}}'
    return Alert(
        name=name,
        expr=f"max by (shard) ({selector}) > {number(threshold)}",
        severity="warning",
        for_=for_,
        summary=f"{what} {label} latency of a shard is above {number(threshold)} seconds.",
        description=f"{label} {what.lower()} latency on shard {SHARD_REF} is {DURATION}, above {number(threshold)} s.",
        meaning=(
            f"The {label} of {what.lower()} requests over the last 5 minutes exceeded {number(threshold)} s for {for_}."
        ),
        check=Probe(signal(record, (("quantile", number(quantile)),)), ">", threshold, SHARDS),
        **text,
    )


def _latency_alert(name: str, quantile: float, threshold: float, for_: str, seeds: tuple[str, ...]) -> Alert:
    return _quantile_alert(
        name,
        rec.LATENCY_QUANTILE,
        quantile,
        threshold,
        for_,
        "Inference",
        actions=_LATENCY_ACTIONS,
        panel=(CLUSTER_OVERVIEW, "Aggregate Latency"),
        seeds=seeds,
        inhibited_by="ThemisLatencyBudgetBurn.*",
        **cases(lambda v: rec.latency_history(quantile, v), SHARD, above(threshold)),
    )


def _low_traffic(failures: int, requests: int) -> tuple[Series, ...]:
    """``requests`` inference requests in every 5 minutes, ``failures`` of them server errors."""
    per_second = 1 / seconds("5m")
    return rec.requests_history(SHARD, requests * per_second, failures / requests)


def _error_alert(
    name: str, threshold: float, severity: str, config: ObservatoryConfig, seeds: tuple[str, ...]
) -> Alert:
    minimum = config.thresholds.min_traffic_requests_per_second
    for_ = config.for_durations.errors
    return Alert(
        name=name,
        expr=(
            f"max by (shard) ({AVAILABILITY_5M}) > {number(threshold)}"
            f" and on (shard) {rec.REQUESTS_RATE} >= {number(minimum)}"
        ),
        severity=severity,
        for_=for_,
        summary=f"More than {number(threshold * 100)} % of a shard's inference requests fail.",
        description=(
            f"{PERCENT} of inference requests on shard {SHARD_REF} ended in a server error or a rejection"
            f" over 5 minutes, above {number(threshold * 100)} %."
        ),
        meaning=(
            "Requests that end in a server error (5xx) or are rejected at capacity (429), as a share of"
            f" all inference requests over 5 minutes, stayed above {number(threshold * 100)} % for {for_}, while"
            f" the shard served at least {number(minimum)} requests per second (one failure among a handful of"
            " requests is not an incident). The availability burn-rate alerts inhibit this one while they fire."
        ),
        actions=(
            "Split by status: rejections mean the shard is at capacity (scale out or shed load),"
            " server errors mean the engine fails (read the shard's log).",
            "Check whether the model is loaded (themis_model_loaded) and the GPU available.",
        ),
        panel=(CLUSTER_OVERVIEW, "Total Throughput"),
        seeds=seeds,
        inhibited_by="ThemisAvailabilityBudgetBurn.*",
        check=Probe(
            signal(f"{SLI_ERRORS}5m", (("slo", "availability"),)),
            ">",
            threshold,
            SHARDS,
            conditions=(Condition("requests per second", level(rec.REQUESTS_RATE), ">=", minimum, held=10.0),),
        ),
        states=(state("one failure among six requests in five minutes stays silent", _low_traffic(1, 6), 30),),
        **cases(lambda v: rec.requests_history(SHARD, 10.0, v), SHARD, above(threshold)),
    )


def _fragmentation_history(window: str):
    """``events`` fragmentation events in every alert ``window``."""

    def history(events: float) -> tuple[Series, ...]:
        per_second = events / seconds(window)
        return (counter("themis_cuda_fragmentation_events_total", SHARD, per_second),)

    return history


def _vector_search_latency(config: ObservatoryConfig) -> Alert:
    threshold = config.thresholds.vector_search_p99_seconds
    return _quantile_alert(
        "ThemisVectorSearchLatencyHigh",
        rec.VECTOR_SEARCH_QUANTILE,
        0.99,
        threshold,
        config.for_durations.vector_search_latency,
        "Vector search",
        actions=(
            "Check whether the index is served from the GPU (the Index Size in VRAM panel): a CPU index is slower.",
            "Check the search batch size and queue: large batches trade latency for throughput.",
            "Check index growth (themis_faiss_index_vectors): a larger index is slower to search.",
        ),
        panel=(VECTOR_SEARCH, "Search Latency p95"),
        seeds=("000: vector search p95 under 10 ms on a GPU", "001: p99 latency above 10 ms for 5 minutes"),
        **cases(lambda v: rec.vector_search_history(0.99, v), SHARD, above(threshold)),
    )


def _serving_alerts(config: ObservatoryConfig) -> tuple[Alert, ...]:
    """Alerts on the serving signals vLLM and OpenTelemetry users watch: first-token time and queueing."""
    t, d = config.thresholds, config.for_durations
    return (
        _quantile_alert(
            "ThemisTimeToFirstTokenHigh",
            rec.TTFT_QUANTILE,
            0.95,
            t.time_to_first_token_p95_seconds,
            d.time_to_first_token,
            "Time to first token",
            actions=(
                "Open the Queue Time panel: if requests wait in line, the shard lacks capacity (scale out).",
                "If queue time is low, prompt evaluation is slow: check prompt lengths and KV-cache misses.",
            ),
            panel=(LLM_INFERENCE, "Time to First Token"),
            seeds=("field: vLLM and OpenTelemetry GenAI time to first token",),
            **cases(lambda v: rec.ttft_history(0.95, v), SHARD, above(t.time_to_first_token_p95_seconds)),
        ),
        _quantile_alert(
            "ThemisInferenceQueueTimeHigh",
            rec.QUEUE_TIME_QUANTILE,
            0.95,
            t.queue_time_p95_seconds,
            d.queue_time,
            "Queue time",
            actions=(
                "Add a shard for the domain or shed load at the orchestrator.",
                "Check Requests Running and Waiting: a line that keeps growing ends in 429 refusals.",
            ),
            panel=(LLM_INFERENCE, "Queue Time"),
            seeds=("field: vLLM request queue time",),
            **cases(lambda v: rec.queue_time_history(0.95, v), SHARD, above(t.queue_time_p95_seconds)),
        ),
        Alert(
            name="ThemisRequestQueueNearlyFull",
            expr=f"{rec.QUEUE_USAGE} > {number(t.queue_full_ratio)}",
            severity="warning",
            for_=d.queue_full,
            summary="A shard's admission queue is nearly full; it will soon refuse requests with 429.",
            description=(
                f"Shard {SHARD_REF} has {PERCENT} of its queue places taken,"
                f" above {number(t.queue_full_ratio * 100)} %."
            ),
            meaning=(
                f"More than {number(t.queue_full_ratio * 100)} % of the places in the shard's admission queue stayed"
                f" taken for {d.queue_full}. When all are taken the shard answers 429 and its readiness probe fails,"
                " so Kubernetes stops sending it traffic."
            ),
            actions=(
                "Scale the domain out, or lower the request rate the orchestrator sends to this shard.",
                "Check whether generations got slower (Time per Output Token) rather than demand higher.",
            ),
            panel=(LLM_INFERENCE, "Requests Running and Waiting"),
            seeds=("field: vLLM requests waiting",),
            check=Probe(signal(rec.QUEUE_USAGE), ">", t.queue_full_ratio, SHARDS),
            **cases(rec.queue_usage_history, SHARD, above(t.queue_full_ratio)),
        ),
    )


def inference_group(config: ObservatoryConfig) -> Group:
    """Alerts on what the shards record about their own work."""
    t = config.thresholds
    d = config.for_durations
    window = config.windows.fragmentation
    alerts = (
        shard_down(config),
        shard_crash_looping(config),
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
        _vector_search_latency(config),
        throughput_low(config),
        _error_alert(
            "ThemisInferenceErrorsHigh", t.error_ratio_warning, "warning", config, ("001: error rate above 1 %",)
        ),
        _error_alert(
            "ThemisInferenceErrorsCritical", t.error_ratio_critical, "critical", config, ("004: High Error Rate",)
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
            check=Probe(signal(rec.TOKENS_PER_SECOND), "<", t.min_tokens_per_second, SHARDS),
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
            check=Probe(signal(rec.KV_MISS_RATIO), ">", t.kv_cache_miss_ratio, SHARDS),
            **cases(rec.kv_cache_history, SHARD, above(t.kv_cache_miss_ratio)),
        ),
        Alert(
            name="ThemisLoRASwitchingSlow",
            expr=(
                f'max by (shard) ({rec.LORA_SWITCH_QUANTILE}{{quantile="0.95"}}) > {number(t.lora_switch_p95_seconds)}'
            ),
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
            check=Probe(
                signal(rec.LORA_SWITCH_QUANTILE, (("quantile", "0.95"),)), ">", t.lora_switch_p95_seconds, SHARDS
            ),
            **cases(lambda v: rec.lora_switch_history(0.95, v), SHARD, above(t.lora_switch_p95_seconds)),
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
            check=Probe(
                counter_signal("themis_cuda_fragmentation_events_total"),
                ">",
                t.fragmentation_events,
                SHARDS,
                aggregate="increase",
                window=window,
            ),
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
            check=Probe(signal(rec.REQUESTS_RATE), ">", t.fragmentation_risk_requests_per_second, SHARDS),
            **cases(lambda v: rec.requests_history(SHARD, v), SHARD, above(t.fragmentation_risk_requests_per_second)),
        ),
        *_serving_alerts(config),
    )
    return Group("themis-inference-alerts", alerts)
