"""Cluster Overview: health, throughput, latency and resources of every shard (seed 000, dashboard 1)."""

from __future__ import annotations

from observatory.config import BurnTier, ObservatoryConfig, number, seconds
from observatory.config.vocabulary import (
    BUDGET_REMAINING,
    CPU_USAGE,
    LATENCY_BUCKET_RATE,
    RAM_USAGE,
    SLI_ERRORS,
    UPTIME_BUDGET_REMAINING,
    UPTIME_ERRORS,
    VRAM_USAGE,
    Objective,
    objectives,
)
from observatory.dashboards.golden_signals import golden_signals, shard_health
from observatory.dashboards.model import (
    Dashboard,
    Panel,
    PanelKind,
    QueryFormat,
    Row,
    Target,
    Threshold,
    ValueMapping,
)
from observatory.dashboards.panels import (
    CLUSTER,
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

# No recorded series carries the objectives, so the SLO panels take each budget (1 - objective) from
# the configuration: burn rates divide by it and descriptions state it, rounded as the rules print it.


def slo_budgets(config: ObservatoryConfig) -> dict[str, float]:
    """Each SLO's error budget by its ``slo`` label, rounded as the rules print it."""
    return {slo.name: float(number(slo.budget)) for slo in objectives(config)}


SUCCESS, FAILED, REJECTED = 'status="success"', 'status=~"server_error|client_error"', 'status="rejected"'


def _both_endpoints(status: str) -> str:
    """Inference requests plus vector search queries per second that ended with ``status``."""
    return f"{rate('themis_inference_requests_total', status)} + {rate('themis_vector_search_queries_total', status)}"


def _seed_panels(config: ObservatoryConfig) -> tuple[Panel, ...]:
    t, p = config.thresholds, config.panels
    return (
        Panel(
            "Total Throughput",
            PanelKind.TIMESERIES,
            "Requests per second the selected shards answered successfully: inference requests "
            "(themis_inference_requests_total) and vector search queries (themis_vector_search_queries_total), "
            "status success only. Beside them, dashed, the requests that failed (client and server errors) and "
            "that were rejected at capacity (429), which are not throughput. "
            f"Red below {number(p.throughput_red_requests_per_second)} req/s, yellow below"
            f" {number(t.min_cluster_requests_per_second)} (the throughput alert's floor), green from there.",
            "reqps",
            (
                Target(rate("themis_inference_requests_total", SUCCESS), "inference"),
                Target(rate("themis_vector_search_queries_total", SUCCESS), "vector search"),
                Target(_both_endpoints(FAILED), "failed", reference=True, color=RED),
                Target(_both_endpoints(REJECTED), "rejected (429)", reference=True, color="orange"),
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
        shard_health(config),
        Panel(
            "CPU/GPU Utilization",
            PanelKind.TIMESERIES,
            "Busy share of each shard's host CPUs (1 - idle share of themis_cpu_seconds_total over 5 minutes, recorded "
            f"as {CPU_USAGE}) and GPU utilisation "
            f"(themis_gpu_utilization_ratio: {describe('themis_gpu_utilization_ratio')}) One line per shard, so "
            f"the lines at {percent(t.cpu_usage_ratio)} (yellow, the host CPU alert) and"
            f" {percent(p.utilization_red_ratio)} (red) mean one shard; the seed's stacked area would add shards up "
            "past 100 %. Dashed: the mean over the selected shards.",
            "percentunit",
            (
                Target(recorded(CPU_USAGE), "CPU {{shard}}"),
                Target(gauge("themis_gpu_utilization_ratio", op="avg"), "GPU {{shard}}"),
                Target(f"avg({recorded(CPU_USAGE)})", "CPU mean", reference=True),
                Target(gauge("themis_gpu_utilization_ratio", by=(), op="avg"), "GPU mean", reference=True),
            ),
            thresholds=rises_to(t.cpu_usage_ratio, p.utilization_red_ratio),
            min=0,
            max=1,
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


def _capacity_panels(config: ObservatoryConfig) -> tuple[Panel, ...]:
    p = config.panels
    return (
        metric_panel(
            "Requests In Flight vs Capacity",
            PanelKind.TIMESERIES,
            "themis_requests_in_flight",
            Target(f"{gauge('themis_requests_in_flight')} / {gauge('themis_request_capacity')}", "{{shard}}"),
            note="Shown as a share of themis_request_capacity: at 100 % new requests wait in the admission "
            "queue, and 429 comes once that is full too.",
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
    )


def _shard_panels() -> tuple[Panel, ...]:
    return (
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
    )


def _gpu_panels(config: ObservatoryConfig) -> tuple[Panel, ...]:
    p = config.panels
    return (
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
                Target(
                    gauge("themis_gpu_power_limit_watts", by=("shard", "gpu")),
                    "limit {{shard}} GPU {{gpu}}",
                    reference=True,
                ),
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
    )


def _exporter_panels(config: ObservatoryConfig) -> tuple[Panel, ...]:
    p = config.panels
    return (
        metric_panel(
            "Exporter Collectors Up",
            PanelKind.STATE_TIMELINE,
            "themis_exporter_collector_up",
            Target(
                f"min by (cluster, job, instance, collector) ({select('themis_exporter_collector_up')})",
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
                f"max by (cluster, instance, collector) ({select('themis_exporter_collect_duration_seconds')})",
                "{{instance}} {{collector}}",
            ),
        ),
        metric_panel(
            "Exporter Last Success",
            PanelKind.STAT,
            "themis_exporter_last_success_timestamp_seconds",
            Target(
                "time() - max by (cluster, instance, collector) "
                f"({select('themis_exporter_last_success_timestamp_seconds')})",
                "{{instance}} {{collector}}",
            ),
            note=f"Shown as seconds since then; yellow from {number(p.exporter_success_age_yellow_seconds)} s, red from"
            f" {number(p.exporter_success_age_red_seconds)} s.",
            thresholds=rises_to(p.exporter_success_age_yellow_seconds, p.exporter_success_age_red_seconds),
        ),
    )


def _slo_panels(config: ObservatoryConfig) -> tuple[Panel, ...]:
    budgets = slo_budgets(config)
    period = f"{number(seconds(config.slo.period) / 86_400)}-day"
    objectives_text = ", ".join(f"{slo} {percent(1 - budget)}" for slo, budget in budgets.items())
    budgets_text = ", ".join(f"{slo} {percent(budget)}" for slo, budget in budgets.items())
    yellow = config.panels.budget_remaining_yellow_ratio
    # The tiers that page: their burn rates are the lines an on-call engineer compares with.
    paging = tuple(tier for tier in config.slo.tiers if tier.enabled and tier.severity == "critical")
    tiers_text = ", ".join(f"{number(tier.factor)}x over {tier.long_window}" for tier in paging)
    return (
        Panel(
            "Error Budget Remaining",
            PanelKind.STAT,
            f"Share of each shard's {period} error budget still left, per SLO ({BUDGET_REMAINING}). The "
            f"budget is the share of requests the objective lets fail over a rolling {period} window ({budgets_text}: "
            f"1 - the objectives {objectives_text}); availability counts server errors and rejections, latency "
            "successful requests slower than the SLO threshold, uptime (per shard target, "
            f"{UPTIME_BUDGET_REMAINING}, at the availability objective) scrapes the shard did not answer. "
            "100 % is untouched, 0 spent, negative overspent. "
            f"Red below 0, yellow below {percent(yellow)}, green from {percent(yellow)}.",
            "percentunit",
            (
                Target(recorded(BUDGET_REMAINING), "{{shard}} {{slo}}"),
                Target(f"{UPTIME_BUDGET_REMAINING}{{{CLUSTER}}}", "{{instance}} uptime"),
            ),
            thresholds=falls_below(0, yellow),
        ),
        Panel(
            "SLO Burn Rate",
            PanelKind.TIMESERIES,
            "How many times faster than sustainable each shard spends its error budget, per SLO: the error ratio "
            f"over a paging tier's long window ({SLI_ERRORS}<window>) divided by the SLO's budget ({budgets_text}). "
            f"At 1 (yellow line) the {period} budget lasts exactly the period; each window's red line is the burn "
            f"rate at which its alert pages ({tiers_text}), once the tier's short window agrees.",
            "short",
            (
                *(_burn_rate(slo, tier) for slo in objectives(config) for tier in paging),
                *(_uptime_burn_rate(config, tier) for tier in paging),
            ),
            thresholds=(Threshold(GREEN), Threshold(YELLOW, 1)),
            min=0,
        ),
    )


def _uptime_burn_rate(config: ObservatoryConfig, tier: BurnTier) -> Target:
    """The uptime SLO's burn rate per shard target (a dead shard has no series with a shard label left)."""
    budget = 1 - config.slo.availability_objective
    return Target(
        f"{UPTIME_ERRORS}{tier.long_window}{{{CLUSTER}}} / {number(budget)}",
        "{{instance}} " + f"uptime {tier.long_window}",
        thresholds=(Threshold(GREEN), Threshold(RED, tier.factor)),
    )


def _burn_rate(slo: Objective, tier: BurnTier) -> Target:
    """One SLO's burn rate over a tier's long window, with the tier's factor as its red line."""
    ratio = recorded(f"{SLI_ERRORS}{tier.long_window}", f'slo="{slo.name}"')
    return Target(
        f"{ratio} / {number(slo.budget)}",
        "{{shard}} " + f"{slo.name} {tier.long_window}",
        thresholds=(Threshold(GREEN), Threshold(RED, tier.factor)),
    )


def dashboard(config: ObservatoryConfig) -> Dashboard:
    """The dashboard for ``config``."""
    return Dashboard(
        uid="themis-cluster-overview",
        title="Themis Cluster Overview",
        description="Health, throughput, latency and resource use of every Themis shard.",
        tags=("themis", "cluster"),
        rows=(
            Row("Golden signals per shard", (golden_signals(config),)),
            Row("Throughput, latency, health and resources", _seed_panels(config)),
            Row("Capacity", _capacity_panels(config)),
            Row("Shards", _shard_panels()),
            Row("GPUs", _gpu_panels(config)),
            Row("Exporters", _exporter_panels(config)),
            Row("Service-level objectives", _slo_panels(config)),
        ),
    )
