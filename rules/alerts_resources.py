"""Alerts on the hardware under the shards: GPU memory and utilisation, host CPU and memory."""

from __future__ import annotations

from observatory.config import ObservatoryConfig
from observatory.config.vocabulary import CLUSTER_OVERVIEW, COST_ROI
from observatory.rules import recording as rec
from observatory.rules.histories import (
    GPU_OUTPUT,
    GPU_SERIES,
    GPUS,
    SHARD,
    SHARDS,
    above,
    alternating,
    alternation,
    below,
    cases,
    gauge,
    level,
    signal,
    without,
)
from observatory.rules.model import Alert, Case, Group, Series, number
from observatory.rules.probes import Condition, Probe, state
from observatory.rules.templates import GPU_REF, HUMANIZE, PERCENT, SHARD_REF


def _idle_gpu_history(min_requests: float):
    """A GPU at a given utilisation on a shard that serves well over ``min_requests`` per second."""

    def history(utilization: float) -> tuple[Series, ...]:
        busy = rec.requests_history(SHARD, 2 * min_requests + 1)
        return (gauge("themis_gpu_utilization_ratio", GPU_SERIES, utilization), *busy)

    return history


def _flapping_utilization(low: float, high: float, min_requests: float) -> tuple[Series, ...]:
    """Utilisation alternating between ``low`` and ``high`` at every sample on a busy shard."""
    busy = rec.requests_history(SHARD, 2 * min_requests + 1)
    return (alternating("themis_gpu_utilization_ratio", GPU_SERIES, low, high), *busy)


def _underused_gpu(
    name: str, threshold: float, min_requests: float, severity: str, for_: str, smoothing: str, **text
) -> Alert:
    utilization = "themis_gpu_utilization_ratio"
    floor = number(threshold)
    probe = Probe(
        signal(utilization),
        "<",
        threshold,
        GPUS,
        output=without("uuid"),
        aggregate="smoothed",
        window=smoothing,
        conditions=(
            Condition("requests per second", level(rec.REQUESTS_RATE), ">", min_requests, held=2 * min_requests + 1),
        ),
    )
    flapping = alternation(threshold / 2, threshold * 1.25)
    return Alert(
        name=name,
        expr=(
            f"(max by (shard, gpu) ({utilization}) < {floor}"
            f" or max by (shard, gpu) (avg_over_time({utilization}[{smoothing}])) < {floor})"
            f" and on (shard) {rec.REQUESTS_RATE} > {number(min_requests)}"
        ),
        severity=severity,
        for_=for_,
        description=(
            f"GPU {GPU_REF} of shard {SHARD_REF} is busy {PERCENT} of the time (now, or on average over"
            f" {smoothing} while it flaps) while the shard serves more than {number(min_requests)} requests per"
            f" second; the floor is {number(threshold * 100)} %."
        ),
        waits=(
            f"A clean drop below {number(threshold * 100)} % pages {for_} after it: the raw utilisation carries"
            f" the `for`. Utilisation that flaps around the floor pages {for_} after its {smoothing} average"
            f" first falls below it, at most {smoothing} plus {for_} after the flapping starts. Only while the"
            f" shard serves more than {number(min_requests)} requests per second: an idle GPU is not degraded."
        ),
        check=probe,
        # Seed 001's example: a GPU alternating between 10 % and 25 % is under a 20 % floor on average
        # (judged at an odd minute, where the latest sample is above the floor).
        states=(
            state(
                "utilisation flapping around the floor fires on its average",
                _flapping_utilization(threshold / 2, threshold * 1.25, min_requests),
                29,
                (GPU_OUTPUT, probe.compared(flapping, 29)),
            ),
        ),
        **text,
        **cases(_idle_gpu_history(min_requests), GPU_OUTPUT, below(threshold)),
    )


def resources_group(config: ObservatoryConfig) -> Group:
    """GPU and host alerts (GPU exporter and host exporter metrics)."""
    t = config.thresholds
    d = config.for_durations
    smoothing = config.windows.smoothing
    gpu_outputs = tuple(without("uuid")(gpu) for gpu in GPUS)
    alerts = (
        Alert(
            name="ThemisVRAMUsageHigh",
            expr=f"{rec.VRAM_USAGE} > {number(t.vram_usage_ratio)}",
            severity="warning",
            for_=d.vram,
            summary="A GPU's device memory is nearly full.",
            description=(
                f"GPU {GPU_REF} of shard {SHARD_REF} has {PERCENT} of its memory in use,"
                f" above {number(t.vram_usage_ratio * 100)} %."
            ),
            meaning=(
                f"Device memory in use stayed above {number(t.vram_usage_ratio * 100)} % of the GPU's memory"
                f" for {d.vram}; the next model, adapter or KV-cache growth may not fit."
            ),
            actions=(
                "Compare themis_vram_reserved_bytes with themis_vram_budget_bytes: which reservation grew?",
                "Unload idle LoRA adapters or move a model to another shard.",
            ),
            panel=(CLUSTER_OVERVIEW, "Memory Usage (RAM + VRAM)"),
            seeds=("000: VRAM Threshold",),
            check=Probe(signal(rec.VRAM_USAGE), ">", t.vram_usage_ratio, gpu_outputs),
            **cases(rec.vram_history, GPU_OUTPUT, above(t.vram_usage_ratio)),
        ),
        Alert(
            name="ThemisGPULost",
            expr="min by (shard, gpu) (themis_gpu_available) < 1",
            severity="critical",
            for_=d.gpu_lost,
            summary="NVML no longer answers for a GPU: the shard lost its GPU.",
            description=(
                f"GPU {GPU_REF} of shard {SHARD_REF} is not available to NVML (themis_gpu_available {HUMANIZE})."
            ),
            meaning=(
                f"NVML has not answered for the GPU for {d.gpu_lost}: the GPU fell off the bus, its driver failed"
                " or the container lost the device. The shard now fails or runs on the CPU at a fraction of the"
                " speed; this pages at once instead of waiting for the collector or utilisation alerts."
            ),
            actions=(
                "Run nvidia-smi on the host: a GPU missing there needs a driver reload or a host reboot.",
                "Route the shard's domain elsewhere until the GPU is back; restart the shard afterwards.",
            ),
            panel=(CLUSTER_OVERVIEW, "GPU Availability"),
            seeds=("exporter health: a lost GPU",),
            check=Probe(signal("themis_gpu_available"), "<", 1.0, gpu_outputs, quiet=1.0),
            firing=Case((gauge("themis_gpu_available", GPU_OUTPUT, 0),), 0.0, GPU_OUTPUT),
            silent=Case((gauge("themis_gpu_available", GPU_OUTPUT, 1),)),
        ),
        _underused_gpu(
            "ThemisGPUDegraded",
            t.gpu_degraded_utilization_ratio,
            t.gpu_degraded_min_requests_per_second,
            "warning",
            d.gpu_degraded,
            smoothing,
            summary="A GPU is nearly idle although its shard serves requests.",
            meaning=(
                f"The GPU was busy less than {number(t.gpu_degraded_utilization_ratio * 100)} % of the time for"
                f" {d.gpu_degraded} while its shard served requests: the work runs somewhere else, usually on the CPU."
            ),
            actions=(
                "Check themis_gpu_available and the shard's log for a CUDA fallback to CPU.",
                "Check that the model's layers are offloaded to the GPU (n_gpu_layers).",
            ),
            panel=(CLUSTER_OVERVIEW, "CPU/GPU Utilization"),
            seeds=("000: GPU Degraded",),
        ),
        _underused_gpu(
            "ThemisGPUUtilizationLow",
            t.gpu_low_utilization_ratio,
            t.gpu_degraded_min_requests_per_second,
            "info",
            d.gpu_low_utilization,
            smoothing,
            summary="A GPU under load is used below its utilisation target.",
            meaning=(
                f"The GPU was busy less than {number(t.gpu_low_utilization_ratio * 100)} % of the time for"
                f" {d.gpu_low_utilization} while its shard served requests: capacity is paid for and not used."
            ),
            actions=(
                "Check batch sizes: larger batches use the GPU better.",
                "Consider consolidating shards onto fewer GPUs (see the GPU Utilization Rate panel).",
            ),
            panel=(COST_ROI, "GPU Utilization Rate"),
            seeds=("001: GPU utilisation below 40 % for 10 minutes",),
        ),
        Alert(
            name="ThemisHostCPUHigh",
            expr=f"{rec.CPU_USAGE} > {number(t.cpu_usage_ratio)}",
            severity="warning",
            for_=d.host_cpu,
            summary="A shard's host spends most of its CPU time busy.",
            description=(
                f"The host of shard {SHARD_REF} is busy {PERCENT} of its CPU time,"
                f" above {number(t.cpu_usage_ratio * 100)} %."
            ),
            meaning=(
                f"Non-idle CPU time stayed above {number(t.cpu_usage_ratio * 100)} % of all CPU time on the"
                f" shard's host for {d.host_cpu}."
            ),
            actions=(
                "Compare with themis_shard_process_cpu_seconds_total: is it the shard or another process?",
                "A GPU shard that burns CPU has usually fallen back to CPU inference (ThemisGPUDegraded).",
            ),
            panel=(CLUSTER_OVERVIEW, "CPU/GPU Utilization"),
            seeds=("004: High CPU",),
            check=Probe(signal(rec.CPU_USAGE), ">", t.cpu_usage_ratio, SHARDS),
            **cases(rec.cpu_history, SHARD, above(t.cpu_usage_ratio)),
        ),
        Alert(
            name="ThemisHostMemoryHigh",
            expr=f"{rec.RAM_USAGE} > {number(t.ram_usage_ratio)}",
            severity="warning",
            for_=d.host_memory,
            summary="A shard's host has little memory left.",
            description=(
                f"The host of shard {SHARD_REF} has {PERCENT} of its memory in use,"
                f" above {number(t.ram_usage_ratio * 100)} %."
            ),
            meaning=(
                f"Memory in use (total minus available) stayed above {number(t.ram_usage_ratio * 100)} % on the"
                f" shard's host for {d.host_memory}."
            ),
            actions=(
                "Check themis_shard_process_resident_memory_bytes: models mapped in RAM are the usual cause.",
                "Check the FAISS index size; a CPU index lives in host memory.",
            ),
            panel=(CLUSTER_OVERVIEW, "Memory Usage (RAM + VRAM)"),
            seeds=("004: High Memory",),
            check=Probe(signal(rec.RAM_USAGE), ">", t.ram_usage_ratio, SHARDS),
            **cases(rec.ram_history, SHARD, above(t.ram_usage_ratio)),
        ),
    )
    return Group("themis-resource-alerts", alerts)
