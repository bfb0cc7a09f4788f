"""Missing-data alerts: a shard that reports itself but not the series an alert depends on.

Every threshold alert is silent where its series are missing, so each series an alert reads from an
exporter or the runtime has an alert here that fires when a live shard stops exposing it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from observatory.config import ObservatoryConfig
from observatory.config.vocabulary import CLUSTER_OVERVIEW, COST_ROI
from observatory.rules.histories import SAMPLES, SHARDS, gauge
from observatory.rules.model import Alert, Case, Group, Labels, Series
from observatory.rules.probes import Presence, presence_values
from observatory.rules.templates import SHARD_REF

HEALTH = "themis_shard_health_status"


@dataclass(frozen=True)
class Dependency:
    """A series alerts depend on, who exposes it, and the alerts that go blind without it."""

    title: str
    metric: str
    labels: Labels
    source: str
    alerts: str
    panel: tuple[str, str]


DEPENDENCIES = (
    Dependency(
        "Inference",
        "themis_inference_requests_total",
        (("status", "success"),),
        "the shard runtime",
        "the error-ratio, throughput and SLO alerts",
        (CLUSTER_OVERVIEW, "Total Throughput"),
    ),
    Dependency(
        "HostCPU",
        "themis_cpu_seconds_total",
        (("mode", "idle"),),
        "the host exporter",
        "ThemisHostCPUHigh",
        (CLUSTER_OVERVIEW, "CPU/GPU Utilization"),
    ),
    Dependency(
        "HostMemory",
        "themis_ram_usage_bytes",
        (),
        "the host exporter",
        "ThemisHostMemoryHigh",
        (CLUSTER_OVERVIEW, "Memory Usage (RAM + VRAM)"),
    ),
    Dependency(
        "GPUUtilization",
        "themis_gpu_utilization_ratio",
        (("gpu", "0"), ("uuid", "GPU-0")),
        "the GPU exporter",
        "ThemisGPUDegraded and ThemisGPUUtilizationLow",
        (COST_ROI, "GPU Utilization Rate"),
    ),
    Dependency(
        "VRAM",
        "themis_vram_usage_bytes",
        (("gpu", "0"), ("uuid", "GPU-0")),
        "the GPU exporter",
        "ThemisVRAMUsageHigh",
        (CLUSTER_OVERVIEW, "Memory Usage (RAM + VRAM)"),
    ),
    Dependency(
        "GPUAvailability",
        "themis_gpu_available",
        (("gpu", "0"),),
        "the GPU exporter",
        "ThemisGPULost",
        (CLUSTER_OVERVIEW, "GPU Availability"),
    ),
)


def _watched(dependency: Dependency):
    """A live shard (its health series throughout) whose ``dependency`` series is present where ``seen``."""

    def series(subject: Labels, seen: Sequence[bool]) -> tuple[Series, ...]:
        live = gauge(HEALTH, subject, 1)
        values = " ".join(["1"] * len(seen))
        return (
            Series(live.name, live.labels, values),
            Series(dependency.metric, (*subject, *dependency.labels), presence_values(seen)),
        )

    return series


def _missing_alert(dependency: Dependency, config: ObservatoryConfig) -> Alert:
    for_ = config.for_durations.series_missing
    return Alert(
        name=f"Themis{dependency.title}SeriesMissing",
        expr=f"group by (shard) ({HEALTH}) unless on (shard) group by (shard) ({dependency.metric})",
        severity="warning",
        for_=for_,
        summary=f"A live shard does not expose {dependency.metric}.",
        description=(
            f"Shard {SHARD_REF} reports its health but no {dependency.metric} series for {for_}:"
            f" {dependency.alerts} cannot fire for it."
        ),
        meaning=(
            f"The shard answers (its health series is there) but {dependency.source} exposes no"
            f" {dependency.metric} for it: {dependency.alerts} would stay silent whatever happens, because an"
            " alert on a missing series never fires."
        ),
        actions=(
            f"Check that {dependency.source} runs beside the shard and is scraped (the target alerts, /targets).",
            "Check the exporter's collection errors (ThemisExporterCollectorFailing) and its log.",
        ),
        panel=dependency.panel,
        seeds=("missing data: alerts on absent series never fire",),
        check=Presence(_watched(dependency), SHARDS),
        firing=Case((gauge(HEALTH, SHARDS[0], 1),), 1.0, SHARDS[0]),
        silent=Case(_watched(dependency)(SHARDS[0], [True] * (SAMPLES + 1))),
    )


def data_group(config: ObservatoryConfig) -> Group:
    """One missing-data alert per series the threshold alerts depend on."""
    return Group("themis-data-alerts", tuple(_missing_alert(dependency, config) for dependency in DEPENDENCIES))
