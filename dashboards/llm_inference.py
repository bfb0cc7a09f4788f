"""LLM Inference: token throughput, batching, KV cache, LoRA switching and latency (seed 000, dashboard 3)."""

from __future__ import annotations

from observatory.config import ObservatoryConfig, number
from observatory.config.model import GOODPUT_HISTOGRAMS
from observatory.config.vocabulary import GOODPUT_ATTAINMENT, KV_MISS_RATIO, REQUESTS_RATE, TOKENS_PER_SECOND
from observatory.dashboards.model import Dashboard, Panel, PanelKind, QueryFormat, Row, Style, Target, Threshold
from observatory.dashboards.panels import (
    GREEN,
    RED,
    YELLOW,
    bucket_distribution,
    bucket_heatmap,
    falls_below,
    gauge,
    increase,
    mean,
    metric_panel,
    percent,
    quantile,
    rate,
    recorded,
    rises_to,
    select,
    share_below,
    share_panel,
    table_columns,
    target_stat,
)

LOAD = "themis_model_load_latency_seconds"


def _seed_panels(config: ObservatoryConfig) -> tuple[Panel, ...]:
    t, p = config.thresholds, config.panels
    return (
        metric_panel(
            "Tokens per Second",
            PanelKind.TIMESERIES,
            "themis_generated_tokens_total",
            Target(recorded(TOKENS_PER_SECOND), "{{shard}}"),
            note="Shown per shard as decode speed: tokens generated per second spent in the generation stage, over "
            f"5 minutes (recorded as {TOKENS_PER_SECOND}). "
            f"Red below {number(t.min_tokens_per_second)} tok/s (the token generation alert), yellow below"
            f" {number(p.tokens_per_second_green)}, green from {number(p.tokens_per_second_green)}.",
            per_second=True,
            thresholds=falls_below(t.min_tokens_per_second, p.tokens_per_second_green),
        ),
        bucket_heatmap(
            "Batch Size Utilization (Continuous Batching)",
            "themis_inference_batch_size",
            "Batches per size bucket over time (sizes 1-32 and above). Target: most batches between 8 and 16 "
            "(good GPU utilisation).",
            scrape_interval=config.prometheus.scrape_interval,
            color_scheme="Blues",
        ),
        Panel(
            "KV Cache Efficiency (PagedAttention)",
            PanelKind.TIMESERIES,
            "KV-cache utilisation per shard (themis_kv_cache_usage_ratio: fraction of the context's cells holding "
            "tokens) and miss rate (themis_kv_cache_misses_total over themis_kv_cache_lookups_total over 5 minutes, "
            f"recorded as {KV_MISS_RATIO}). Targets, drawn as lines: "
            f"utilisation above {percent(p.kv_cache_usage_target_ratio)} (green line), miss rate below"
            f" {percent(p.kv_cache_miss_target_ratio)} (red line; the alert fires above"
            f" {percent(t.kv_cache_miss_ratio)}).",
            "percentunit",
            (
                Target(
                    gauge("themis_kv_cache_usage_ratio", op="avg"),
                    "utilisation {{shard}}",
                    thresholds=(Threshold(RED), Threshold(GREEN, p.kv_cache_usage_target_ratio)),
                ),
                Target(
                    recorded(KV_MISS_RATIO),
                    "miss rate {{shard}}",
                    thresholds=(Threshold(GREEN), Threshold(RED, p.kv_cache_miss_target_ratio)),
                ),
            ),
            min=0,
            max=1,
        ),
        bucket_distribution(
            "LoRA Adapter Switching Time",
            "themis_lora_switch_latency_seconds",
            "Seed buckets 0-50, 50-100, 100-200, >200 ms are the catalogue's 0.05, 0.1, 0.2 s bounds. Target: 95 % "
            f"of switches under {number(p.lora_switch_target_seconds)} s; the alert fires when p95 exceeds "
            f"{number(t.lora_switch_p95_seconds)} s.",
        ),
        metric_panel(
            "Model Loading Time (Cold Start)",
            PanelKind.TIMESERIES,
            LOAD,
            # A shard loads its model once, at start: the first sample of a histogram already counts that
            # load, so a rate over any window would never see it. The running process's own total says it.
            Target(
                f"{select(LOAD + '_sum')} / ({select(LOAD + '_count')} > 0)",
                "{{shard}} {{model}}",
            ),
            note="Mean load time per model since each shard started. Typical: 5-15 s for 7B models, 30-60 s for 70B; "
            "the seed sets no threshold, and one bound would flag every normal 70B load.",
        ),
        metric_panel(
            "Inference Latency Breakdown",
            PanelKind.TIMESERIES,
            "themis_inference_stage_latency_seconds",
            Target(mean("themis_inference_stage_latency_seconds", by=("stage",)), "{{stage}}"),
            note="Mean time per request in each stage, stacked: tokenize (seed: encode), prompt_eval (forward) and "
            "generation (decode). The seed's stacked bar chart over time is a time series drawn as stacked bars.",
            style=Style.STACKED_BARS,
        ),
        metric_panel(
            "Active LoRA Adapters",
            PanelKind.STAT,
            "themis_active_lora_adapters",
            Target(gauge("themis_active_lora_adapters"), "{{shard}}"),
            note=f"Per shard; yellow (memory pressure) from {number(p.active_lora_adapters_yellow)} adapters.",
            # Adapters are whole: the seed's "warning if >8" starts at 9, and 8 loaded adapters stay green.
            thresholds=(Threshold(GREEN), Threshold(YELLOW, p.active_lora_adapters_yellow)),
        ),
        share_panel(
            "Model Type Distribution",
            "themis_inference_requests_total",
            "model",
            "Share of requests per model over the dashboard's range.",
        ),
    )


def _extra_panels(config: ObservatoryConfig) -> tuple[Panel, ...]:
    t, p = config.thresholds, config.panels
    return (
        metric_panel(
            "Inference Outcomes",
            PanelKind.TIMESERIES,
            "themis_inference_requests_total",
            Target(rate("themis_inference_requests_total", by=("shard", "status")), "{{shard}} {{status}}"),
            note="Per second by shard and outcome.",
            unit="reqps",
            style=Style.STACKED_AREA,
        ),
        metric_panel(
            "Inference Latency p95 by Model",
            PanelKind.TIMESERIES,
            "themis_inference_latency_seconds",
            Target(quantile(0.95, "themis_inference_latency_seconds", by=("model",)), "{{model}}"),
            thresholds=rises_to(p.latency_yellow_seconds, t.latency_p95_seconds),
        ),
        metric_panel(
            "Prompt Tokens",
            PanelKind.TIMESERIES,
            "themis_prompt_tokens_total",
            Target(rate("themis_prompt_tokens_total", by=("shard", "model")), "{{shard}} {{model}}"),
            note="Per second.",
            per_second=True,
        ),
        share_panel(
            "LoRA Adapter Usage",
            "themis_lora_adapter_requests_total",
            "adapter",
            "Share per adapter over the dashboard's range.",
        ),
        Panel(
            "Loaded Models",
            PanelKind.TABLE,
            "Models loaded per shard (themis_model_loaded = 1) with the size of their weights"
            " (themis_model_size_bytes).",
            "short",
            (
                Target(
                    gauge("themis_model_loaded", by=("shard", "model"), op="max") + " == 1",
                    "Loaded",
                    instant=True,
                    format=QueryFormat.TABLE,
                ),
                Target(
                    gauge("themis_model_size_bytes", by=("shard", "model"), op="max"),
                    "Size",
                    instant=True,
                    format=QueryFormat.TABLE,
                    unit="bytes",
                ),
            ),
            transformations=table_columns({"Value #A": "Loaded", "Value #B": "Size"}),
        ),
        Panel(
            "VRAM Budget",
            PanelKind.TIMESERIES,
            "Device memory per shard: the budget its GPU profile allows (themis_vram_budget_bytes), what it reserved "
            "for models, adapters and indexes (themis_vram_reserved_bytes) and what the GPU reports in use "
            "(themis_vram_usage_bytes).",
            "bytes",
            (
                Target(gauge("themis_vram_budget_bytes"), "budget {{shard}}"),
                Target(gauge("themis_vram_reserved_bytes"), "reserved {{shard}}"),
                Target(gauge("themis_vram_usage_bytes"), "in use {{shard}}"),
            ),
        ),
        metric_panel(
            "CUDA Fragmentation Events",
            PanelKind.TIMESERIES,
            "themis_cuda_fragmentation_events_total",
            Target(
                increase("themis_cuda_fragmentation_events_total", by=("shard",), window="$__rate_interval"),
                "{{shard}}",
            ),
            # Appended query: seed 002's fragmentation-risk line is per GPU, so it goes on the per-shard request
            # rate beside the events rather than on a cluster-wide throughput sum.
            Target(
                recorded(REQUESTS_RATE),
                "QPS {{shard}}",
                unit="reqps",
                right_axis=True,
                thresholds=(Threshold(GREEN), Threshold(RED, t.fragmentation_risk_requests_per_second)),
            ),
            note="Events per interval; seed 002 saw them start near"
            f" {number(t.fragmentation_risk_requests_per_second)} QPS on an RTX 4070. "
            f"On the right axis each shard's inference requests per second, with a red line at "
            f"{number(t.fragmentation_risk_requests_per_second)} QPS (seed 002's fragmentation risk zone).",
            thresholds=rises_to(p.fragmentation_events_yellow, p.fragmentation_events_red),
        ),
    )


def _serving_panels(config: ObservatoryConfig) -> tuple[Panel, ...]:
    t, p = config.thresholds, config.panels
    return (
        metric_panel(
            "Time to First Token",
            PanelKind.TIMESERIES,
            "themis_inference_time_to_first_token_seconds",
            Target(quantile(0.5, "themis_inference_time_to_first_token_seconds", by=("shard",)), "p50 {{shard}}"),
            Target(quantile(0.95, "themis_inference_time_to_first_token_seconds", by=("shard",)), "p95 {{shard}}"),
            note="p50 and p95 per shard (OpenTelemetry GenAI buckets). The alert fires when p95 stays above "
            f"{number(t.time_to_first_token_p95_seconds)} s.",
            thresholds=rises_to(t.time_to_first_token_p95_seconds / 2, t.time_to_first_token_p95_seconds),
        ),
        metric_panel(
            "Time per Output Token",
            PanelKind.TIMESERIES,
            "themis_inference_time_per_output_token_seconds",
            Target(quantile(0.5, "themis_inference_time_per_output_token_seconds", by=("shard",)), "p50 {{shard}}"),
            Target(quantile(0.95, "themis_inference_time_per_output_token_seconds", by=("shard",)), "p95 {{shard}}"),
            note=f"p50 and p95 per shard; {number(1 / t.min_tokens_per_second)} s per token is"
            f" {number(t.min_tokens_per_second)} tokens/s, the token generation alert's floor.",
            thresholds=rises_to(1 / p.tokens_per_second_green, 1 / t.min_tokens_per_second),
        ),
        metric_panel(
            "Queue Time",
            PanelKind.TIMESERIES,
            "themis_inference_queue_time_seconds",
            Target(quantile(0.95, "themis_inference_queue_time_seconds", by=("shard",)), "p95 {{shard}}"),
            note=f"p95 per shard. The alert fires when it stays above {number(t.queue_time_p95_seconds)} s.",
            thresholds=rises_to(t.queue_time_p95_seconds / 5, t.queue_time_p95_seconds),
        ),
        Panel(
            "Requests Running and Waiting",
            PanelKind.TIMESERIES,
            "Inference requests generating now (themis_inference_requests_running), API requests waiting in the "
            "admission queue (themis_requests_waiting) and the queue's places (themis_request_queue_capacity): "
            "when the waiting line reaches the places, the shard answers 429 and stops being ready.",
            "short",
            (
                Target(gauge("themis_inference_requests_running"), "running {{shard}}"),
                Target(gauge("themis_requests_waiting"), "waiting {{shard}}"),
                Target(gauge("themis_request_queue_capacity"), "queue places {{shard}}"),
            ),
        ),
        Panel(
            "Token Throughput",
            PanelKind.TIMESERIES,
            "Prompt tokens received (themis_prompt_tokens_total) and tokens generated (themis_generated_tokens_total) "
            "per second, per shard.",
            "short",
            (
                Target(rate("themis_prompt_tokens_total", by=("shard",)), "prompt {{shard}}"),
                Target(rate("themis_generated_tokens_total", by=("shard",)), "generation {{shard}}"),
            ),
        ),
        bucket_heatmap(
            "Prompt Length",
            "themis_inference_request_prompt_tokens",
            "Requests per prompt-length bucket over time.",
            scrape_interval=config.prometheus.scrape_interval,
            color_scheme="Blues",
        ),
        bucket_heatmap(
            "Generation Length",
            "themis_inference_request_generation_tokens",
            "Requests per generation-length bucket over time.",
            scrape_interval=config.prometheus.scrape_interval,
            color_scheme="Blues",
        ),
        metric_panel(
            "Finish Reason",
            PanelKind.TIMESERIES,
            "themis_inference_finished_total",
            Target(rate("themis_inference_finished_total", by=("finish_reason",)), "{{finish_reason}}"),
            note="Per second: length (max_tokens reached), stop (end of sequence), cancelled (the client left) "
            "and error.",
            unit="reqps",
            style=Style.STACKED_AREA,
        ),
    )


def _target_panels(config: ObservatoryConfig) -> tuple[Panel, ...]:
    bound = config.panels.lora_switch_target_seconds
    return (
        target_stat(
            f"LoRA Switches under {number(bound * 1000)} ms",
            "themis_lora_switch_latency_seconds",
            bound,
            0.95,
            "LoRA adapter switches (the seed's p95 target)",
            width=6,
        ),
    )


def _goodput_panels(config: ObservatoryConfig) -> tuple[Panel, ...]:
    g = config.goodput
    target = g.attainment_objective
    objectives = (
        ("first token", "time_to_first_token_seconds", g.time_to_first_token_seconds),
        ("per output token", "time_per_output_token_seconds", g.time_per_output_token_seconds),
    )
    steps = (Threshold(RED), Threshold(GREEN, target))
    within = (
        f"time to first token at most {number(g.time_to_first_token_seconds)} s, time per output token at most"
        f" {number(g.time_per_output_token_seconds)} s"
    )
    return (
        Panel(
            "Goodput",
            PanelKind.STAT,
            f"Share of the selected shards' requests over the dashboard's range within each goodput objective"
            f" ({within}), from the bucket counts of {', '.join(GOODPUT_HISTOGRAMS.values())}. Red below the"
            f" {percent(target)} attainment objective, green from it. Empty without requests.",
            "percentunit",
            tuple(
                Target(share_below(GOODPUT_HISTOGRAMS[key], bound), name, instant=True)
                for name, key, bound in objectives
            ),
            thresholds=steps,
            min=0,
            max=1,
            width=6,
        ),
        Panel(
            "Goodput Attainment",
            PanelKind.TIMESERIES,
            f"Share of each shard's requests over 5 minutes within each goodput objective ({within}; recorded as"
            f" {GOODPUT_ATTAINMENT}, label objective). The alert fires when a share stays below the red line at"
            f" {percent(target)} for {g.attainment_for}.",
            "percentunit",
            (Target(recorded(GOODPUT_ATTAINMENT), "{{objective}} {{shard}}", thresholds=steps),),
            min=0,
            max=1,
            width=18,
        ),
    )


def dashboard(config: ObservatoryConfig) -> Dashboard:
    """The dashboard for ``config``."""
    return Dashboard(
        uid="themis-llm-inference",
        title="Themis LLM Inference",
        description="Detailed LLM inference metrics: token speed, batching, KV cache, LoRA adapters and latency.",
        tags=("themis", "llm"),
        rows=(
            Row("Tokens, batching, cache and adapters", _seed_panels(config)),
            Row("Seed targets", _target_panels(config)),
            Row("Outcomes, models and memory", _extra_panels(config)),
            Row("Serving: first token, queueing, lengths and finish reasons", _serving_panels(config)),
            Row("Goodput: requests within the serving objectives", _goodput_panels(config)),
        ),
    )
