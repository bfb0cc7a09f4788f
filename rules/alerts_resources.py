"""Alerts on the hardware under the shards: GPU memory and utilisation, host CPU and memory."""

from __future__ import annotations

from observatory.config import ObservatoryConfig
from observatory.config.vocabulary import CLUSTER_OVERVIEW, COST_ROI
from observatory.rules import recording as rec
from observatory.rules.histories import GPU_OUTPUT, GPU_SERIES, SHARD, above, below, cases, gauge
from observatory.rules.model import Alert, Group, Series, number
from observatory.rules.templates import GPU_REF, PERCENT, SHARD_REF


def _idle_gpu_history(min_requests: float):
    """A GPU at a given utilisation on a shard that serves well over ``min_requests`` per second."""

    def history(utilization: float) -> tuple[Series, ...]:
        busy = rec.requests_history(SHARD, 2 * min_requests + 1)
        return (gauge("themis_gpu_utilization_ratio", GPU_SERIES, utilization), *busy)

    return history


def _underused_gpu(name: str, threshold: float, min_requests: float, severity: str, for_: str, **text) -> Alert:
    return Alert(
        name=name,
        expr=(
            f"max by (shard, gpu) (themis_gpu_utilization_ratio) < {number(threshold)}"
            f" and on (shard) {rec.REQUESTS_RATE} > {number(min_requests)}"
        ),
        severity=severity,
        for_=for_,
        description=(
            f"GPU {GPU_REF} of shard {SHARD_REF} is busy {PERCENT} of the time while the shard serves"
            f" more than {number(min_requests)} requests per second; the floor is {number(threshold * 100)} %."
        ),
        **text,
        **cases(_idle_gpu_history(min_requests), GPU_OUTPUT, below(threshold)),
    )


def resources_group(config: ObservatoryConfig) -> Group:
    """GPU and host alerts (GPU exporter and host exporter metrics)."""
    t = config.thresholds
    d = config.for_durations
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
            **cases(rec.vram_history, GPU_OUTPUT, above(t.vram_usage_ratio)),
        ),
        _underused_gpu(
            "ThemisGPUDegraded",
            t.gpu_degraded_utilization_ratio,
            t.gpu_degraded_min_requests_per_second,
            "warning",
            d.gpu_degraded,
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
            **cases(rec.ram_history, SHARD, above(t.ram_usage_ratio)),
        ),
    )
    return Group("themis-resource-alerts", alerts)
