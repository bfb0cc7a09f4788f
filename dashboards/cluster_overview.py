"""Cluster Overview: health, throughput, latency and resources of every shard (seed 000, dashboard 1)."""

from __future__ import annotations

from observatory.config import ObservatoryConfig, number, seconds
from observatory.config.vocabulary import (
    BUDGET_REMAINING,
    CPU_USAGE,
    LATENCY_BUCKET_RATE,
    RAM_USAGE,
    REQUESTS_RATE,
    SLI_ERRORS,
    VRAM_USAGE,
    objectives,
)
from observatory.dashboards.model import (
    Dashboard,
    Panel,
    PanelKind,
    QueryFormat,
    Style,
    Target,
    Threshold,
    ValueMapping,
)
from observatory.dashboards.panels import (
    BLUE,
    GREEN,
    RED,
    YELLOW,
    describe,
    falls_below,
    gauge,
    metric_panel,
    percent,
    rate,
    recorded,
    rises_to,
    select,
)

# No recorded series carries the objectives, so the burn-rate panel draws each SLO's error budget
# (1 - objective, by `slo` label) as a threshold line; taken from the rules' configuration so that the
# lines move with the objectives (rounded as the rules print them, without binary noise).


def slo_budgets(config: ObservatoryConfig) -> dict[str, float]:
    """Each SLO's error budget by its ``slo`` label, rounded as the rules print it."""
    return {slo.name: float(number(slo.budget)) for slo in objectives(config)}


HEALTH_MAPPINGS = (
    ValueMapping(1, "healthy", GREEN),
    ValueMapping(0.5, "degraded", YELLOW),
    ValueMapping(0, "unhealthy", RED),
)


def _seed_panels(config: ObservatoryConfig) -> tuple[Panel, ...]:
    t, p = config.thresholds, config.panels
    return (
        Panel(
            "Total Throughput",
            PanelKind.TIMESERIES,
            "Requests per second the selected shards finished: inference requests (summed from the recorded "
            f"5-minute per-shard rates, {REQUESTS_RATE}) and vector search queries. "
            f"Red below {number(p.throughput_red_requests_per_second)} req/s, yellow below"
            f" {number(t.min_cluster_requests_per_second)} (the throughput alert's floor), green from there.",
            "reqps",
            (
                Target(f"sum({recorded(REQUESTS_RATE)})", "inference"),
                Target(rate("themis_vector_search_queries_total"), "vector search"),
            ),
            thresholds=falls_below(p.throughput_red_requests_per_second, t.min_cluster_requests_per_second),
        ),
        metric_panel(
            "Aggregate Latency",
            PanelKind.TIMESERIES,
            "themis_inference_latency_seconds",
            *(
                Target(f"histogram_quantile({q}, sum by (le) ({recorded(LATENCY_BUCKET_RATE)}))", f"p{round(q * 100)}")
                for q in (0.5, 0.95, 0.99)
            ),
            note="p50, p95 and p99 over the selected shards, from the recorded 5-minute bucket rates "
            f"({LATENCY_BUCKET_RATE}). Thresholds apply to p95: yellow above"
            f" {number(p.latency_yellow_seconds)} s, red above {number(t.latency_p95_seconds)} s (the p95 alert).",
            thresholds=rises_to(p.latency_yellow_seconds, t.latency_p95_seconds),
        ),
        metric_panel(
            "Shard Health Heatmap",
            PanelKind.HEATMAP,
            "themis_shard_health_status",
            Target(gauge("themis_shard_health_status", op="max"), "{{shard}}"),
            note="One row per shard over time; colour from red (0, unhealthy) through yellow (0.5, degraded) "
            "to green (1, healthy).",
            unit="none",
            min=0,
            max=1,
            color_scheme="RdYlGn",
            thresholds=(Threshold(RED), Threshold(YELLOW, 0.5), Threshold(GREEN, 1)),
            mappings=HEALTH_MAPPINGS,
        ),
        Panel(
            "CPU/GPU Utilization",
            PanelKind.TIMESERIES,
            "Busy share of each shard's host CPUs (1 - idle share of themis_cpu_seconds_total over 5 minutes, recorded "
            f"as {CPU_USAGE}) and GPU utilisation "
            f"(themis_gpu_utilization_ratio: {describe('themis_gpu_utilization_ratio')}) Stacked area as the seed "
            f"asks; yellow above {percent(t.cpu_usage_ratio)} (the host CPU alert), red above"
            f" {percent(p.utilization_red_ratio)}.",
            "percentunit",
            (
                Target(recorded(CPU_USAGE), "CPU {{shard}}"),
                Target(gauge("themis_gpu_utilization_ratio", op="avg"), "GPU {{shard}}"),
            ),
            thresholds=rises_to(t.cpu_usage_ratio, p.utilization_red_ratio),
            style=Style.STACKED_AREA,
            min=0,
        ),
        Panel(
            "Memory Usage (RAM + VRAM)",
            PanelKind.GAUGE,
            "Share of host memory in use per shard (themis_ram_usage_bytes / themis_ram_total_bytes, recorded as "
            f"{RAM_USAGE}) and of GPU memory in use per GPU (themis_vram_usage_bytes / themis_vram_total_bytes, "
            f"recorded as {VRAM_USAGE}, the series the VRAM alert watches). Yellow above"
            f" {percent(p.memory_yellow_ratio)}, red above {percent(t.vram_usage_ratio)} (the VRAM alert).",
            "percentunit",
            (
                Target(recorded(RAM_USAGE), "RAM {{shard}}"),
                Target(recorded(VRAM_USAGE), "VRAM {{shard}} GPU {{gpu}}"),
            ),
            thresholds=rises_to(p.memory_yellow_ratio, t.vram_usage_ratio),
            min=0,
            max=1,
        ),
        metric_panel(
            "Network Traffic (Inter-Shard)",
            PanelKind.TIMESERIES,
            "themis_inter_shard_sent_bytes_total",
            Target(
                rate(
                    "themis_inter_shard_sent_bytes_total",
                    'source_shard=~"$shard"',
                    by=("source_shard", "destination_shard"),
                ),
                "{{source_shard}} → {{destination_shard}}",
            ),
            note="Split by source and destination shard, in bytes per second (Grafana scales to MB/s). Each relayed "
            "byte is sent by its source and received by its destination, so one series per pair stands for the "
            "seed's sent and received rates; the hosts' own sent and received bytes are in Host Network Traffic.",
            per_second=True,
        ),
        metric_panel(
            "Active Connections",
            PanelKind.STAT,
            "themis_active_connections",
            Target(gauge("themis_active_connections"), "{{shard}}"),
            note=f"One value per shard; yellow from {number(p.active_connections_yellow)}, red from"
            f" {number(p.active_connections_red)}.",
            thresholds=rises_to(p.active_connections_yellow, p.active_connections_red),
        ),
    )


def _extra_panels(config: ObservatoryConfig) -> tuple[Panel, ...]:
    p = config.panels
    return (
        metric_panel(
            "Requests In Flight vs Capacity",
            PanelKind.TIMESERIES,
            "themis_requests_in_flight",
            Target(f"{gauge('themis_requests_in_flight')} / {gauge('themis_request_capacity')}", "{{shard}}"),
            note="Shown as a share of themis_request_capacity: at 100 % the shard answers 429.",
            unit="percentunit",
            thresholds=rises_to(p.in_flight_yellow_ratio, 1),
            min=0,
        ),
        metric_panel(
            "Rejected Requests (429)",
            PanelKind.TIMESERIES,
            "themis_requests_rejected_total",
            Target(rate("themis_requests_rejected_total", by=("shard", "endpoint")), "{{shard}} {{endpoint}}"),
            note="Per second, by shard and endpoint.",
            per_second=True,
            unit="reqps",
        ),
        metric_panel(
            "Shard Uptime",
            PanelKind.STAT,
            "themis_shard_start_time_seconds",
            Target(f"time() - {gauge('themis_shard_start_time_seconds', op='max')}", "{{shard}}"),
            note="Shown as time since that start.",
        ),
        metric_panel(
            "Shard Versions",
            PanelKind.TABLE,
            "themis_shard_info",
            Target(
                gauge("themis_shard_info", by=("shard", "domain", "version")), instant=True, format=QueryFormat.TABLE
            ),
            note="One row per shard with its domain and runtime version.",
        ),
        metric_panel(
            "Shard Process CPU",
            PanelKind.TIMESERIES,
            "themis_shard_process_cpu_seconds_total",
            Target(
                f"{rate('themis_shard_process_cpu_seconds_total', by=('shard',))} / {gauge('themis_cpus')}",
                "{{shard}}",
            ),
            note="Shown as a share of the host's logical CPUs (themis_cpus).",
            unit="percentunit",
        ),
        metric_panel(
            "Shard Process Memory",
            PanelKind.TIMESERIES,
            "themis_shard_process_resident_memory_bytes",
            Target(gauge("themis_shard_process_resident_memory_bytes"), "{{shard}}"),
        ),
        Panel(
            "Host Network Traffic",
            PanelKind.TIMESERIES,
            "Bytes per second each shard's host sent (themis_network_sent_bytes_total) and received "
            "(themis_network_received_bytes_total, drawn below the axis), all interfaces.",
            "Bps",
            (
                Target(rate("themis_network_sent_bytes_total", by=("shard",)), "sent {{shard}}"),
                Target(f"-{rate('themis_network_received_bytes_total', by=('shard',))}", "received {{shard}}"),
            ),
        ),
        metric_panel(
            "GPU Temperature",
            PanelKind.TIMESERIES,
            "themis_gpu_temperature_celsius",
            Target(gauge("themis_gpu_temperature_celsius", by=("shard", "gpu"), op="max"), "{{shard}} GPU {{gpu}}"),
            note=f"Yellow from {number(p.gpu_temperature_yellow_celsius)} °C, red from"
            f" {number(p.gpu_temperature_red_celsius)} °C (seed 002).",
            thresholds=rises_to(p.gpu_temperature_yellow_celsius, p.gpu_temperature_red_celsius),
        ),
        Panel(
            "GPU Power Draw",
            PanelKind.TIMESERIES,
            f"{describe('themis_gpu_power_usage_watts')} Dashed against the enforced limit"
            " (themis_gpu_power_limit_watts).",
            "watt",
            (
                Target(gauge("themis_gpu_power_usage_watts", by=("shard", "gpu")), "draw {{shard}} GPU {{gpu}}"),
                Target(gauge("themis_gpu_power_limit_watts", by=("shard", "gpu")), "limit {{shard}} GPU {{gpu}}"),
            ),
        ),
        Panel(
            "GPU Clocks and Memory Bandwidth",
            PanelKind.TIMESERIES,
            f"{describe('themis_gpu_memory_bandwidth_utilization_ratio')} On the right axis: "
            f"{describe('themis_gpu_sm_clock_hertz')}",
            "percentunit",
            (
                Target(
                    gauge("themis_gpu_memory_bandwidth_utilization_ratio", by=("shard", "gpu"), op="avg"),
                    "memory busy {{shard}} GPU {{gpu}}",
                ),
                Target(
                    gauge("themis_gpu_sm_clock_hertz", by=("shard", "gpu"), op="avg"),
                    "SM clock {{shard}} GPU {{gpu}}",
                    unit="hertz",
                    right_axis=True,
                ),
            ),
        ),
        metric_panel(
            "GPU Inventory",
            PanelKind.TABLE,
            "themis_gpu_info",
            Target(
                gauge("themis_gpu_info", by=("shard", "gpu", "name", "driver_version"), op="max"),
                instant=True,
                format=QueryFormat.TABLE,
            ),
            note="One row per GPU.",
        ),
        metric_panel(
            "GPU Availability",
            PanelKind.STATE_TIMELINE,
            "themis_gpu_available",
            Target(gauge("themis_gpu_available", by=("shard", "gpu"), op="min"), "{{shard}} GPU {{gpu}}"),
            note="Red while NVML does not answer for the GPU.",
            mappings=(ValueMapping(1, "available", GREEN), ValueMapping(0, "lost", RED)),
            thresholds=(Threshold(RED), Threshold(GREEN, 1)),
        ),
        metric_panel(
            "GPU Reading Age",
            PanelKind.TIMESERIES,
            "themis_gpu_reading_age_seconds",
            Target(gauge("themis_gpu_reading_age_seconds", by=("shard", "gpu"), op="max"), "{{shard}} GPU {{gpu}}"),
            thresholds=rises_to(p.gpu_reading_age_yellow_seconds, p.gpu_reading_age_red_seconds),
        ),
        metric_panel(
            "Exporter Collectors Up",
            PanelKind.STATE_TIMELINE,
            "themis_exporter_collector_up",
            Target(
                f"min by (job, instance, collector) ({select('themis_exporter_collector_up')})",
                "{{instance}} {{collector}}",
            ),
            mappings=(ValueMapping(1, "up", GREEN), ValueMapping(0, "failing", RED)),
            thresholds=(Threshold(RED), Threshold(GREEN, 1)),
        ),
        metric_panel(
            "Exporter Collection Errors",
            PanelKind.TIMESERIES,
            "themis_exporter_collection_errors_total",
            Target(
                rate("themis_exporter_collection_errors_total", by=("instance", "collector", "reason")),
                "{{instance}} {{collector}} {{reason}}",
            ),
            note="Per second, by collector and reason.",
            per_second=True,
        ),
        metric_panel(
            "Exporter Collect Duration",
            PanelKind.TIMESERIES,
            "themis_exporter_collect_duration_seconds",
            Target(
                f"max by (instance, collector) ({select('themis_exporter_collect_duration_seconds')})",
                "{{instance}} {{collector}}",
            ),
        ),
        metric_panel(
            "Exporter Last Success",
            PanelKind.STAT,
            "themis_exporter_last_success_timestamp_seconds",
            Target(
                f"time() - max by (instance, collector) ({select('themis_exporter_last_success_timestamp_seconds')})",
                "{{instance}} {{collector}}",
            ),
            note=f"Shown as seconds since then; yellow from {number(p.exporter_success_age_yellow_seconds)} s, red from"
            f" {number(p.exporter_success_age_red_seconds)} s.",
            thresholds=rises_to(p.exporter_success_age_yellow_seconds, p.exporter_success_age_red_seconds),
        ),
    )


# Appended after every other panel: panel ids are positions, and alerts link to them.
def _slo_panels(config: ObservatoryConfig) -> tuple[Panel, ...]:
    budgets = slo_budgets(config)
    period = f"{number(seconds(config.slo.period) / 86_400)}-day"
    objectives_text = ", ".join(f"{slo} {percent(1 - budget)}" for slo, budget in budgets.items())
    budgets_text = ", ".join(f"{slo} {percent(budget)}" for slo, budget in budgets.items())
    yellow = config.panels.budget_remaining_yellow_ratio
    return (
        Panel(
            "Error Budget Remaining",
            PanelKind.STAT,
            f"Share of each shard's {period} error budget still left, per SLO ({BUDGET_REMAINING}). The "
            f"budget is the share of requests the objective lets fail over a rolling {period} window ({budgets_text}: "
            f"1 - the objectives {objectives_text}); availability counts server errors and rejections, latency "
            "successful requests slower than the SLO threshold. 100 % is untouched, 0 spent, negative overspent. "
            f"Red below 0, yellow below {percent(yellow)}, green from {percent(yellow)}.",
            "percentunit",
            (Target(recorded(BUDGET_REMAINING), "{{shard}} {{slo}}"),),
            thresholds=falls_below(0, yellow),
        ),
        Panel(
            "SLO Burn Rate",
            PanelKind.TIMESERIES,
            f"Error ratio of each shard per SLO over the last 1 h and 6 h ({SLI_ERRORS}1h and {SLI_ERRORS}6h), the "
            "long windows of the two fastest burn-rate alerts. No recorded series carries the objective, so the panel "
            "shows the raw error ratios rather than burn rates; the threshold lines mark each SLO's error budget "
            f"(1 - objective: {budgets_text}; blue for availability, purple for latency). A ratio on its SLO's line "
            f"spends the {period} budget in exactly that period; the burn rate is the ratio divided by that "
            "line, and the burn-rate alerts fire when it stays a set multiple above it.",
            "percentunit",
            (
                Target(recorded(f"{SLI_ERRORS}1h"), "{{shard}} {{slo}} 1h"),
                Target(recorded(f"{SLI_ERRORS}6h"), "{{shard}} {{slo}} 6h"),
            ),
            thresholds=(
                Threshold(GREEN),
                Threshold(BLUE, budgets["availability"]),
                Threshold("purple", budgets["latency"]),
            ),
            min=0,
        ),
    )


def dashboard(config: ObservatoryConfig) -> Dashboard:
    """The dashboard for ``config``."""
    return Dashboard(
        uid="themis-cluster-overview",
        title="Themis Cluster Overview",
        description="Health, throughput, latency and resource use of every Themis shard.",
        tags=("themis", "cluster"),
        panels=_seed_panels(config) + _extra_panels(config) + _slo_panels(config),
    )
