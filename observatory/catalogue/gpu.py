"""Metrics of the NVML GPU exporter (one series per GPU, labelled with the shard it serves)."""

from observatory.catalogue.labels import GPU, GPU_UUID, SHARD
from observatory.metric import Label, Metric, MetricType, SeedName, Source, Unit

_GPU_LABELS = (SHARD, GPU, GPU_UUID)


def _gpu_gauge(name: str, help: str, unit: Unit, seed: SeedName | None = None) -> Metric:
    return Metric(name, MetricType.GAUGE, help, unit, Source.GPU_EXPORTER, _GPU_LABELS, seed=seed)


GPU_METRICS = (
    _gpu_gauge(
        "themis_gpu_utilization_ratio",
        "Fraction of the last NVML sampling window in which a kernel ran on the GPU (0-1).",
        Unit.RATIO,
        SeedName(
            "themis_gpu_utilization_percent",
            "percent / 100",
            "< 20 % (GPU Degraded) → < 0.2; < 40 % (seed 001) → < 0.4; 80/95 % → 0.8/0.95; 70/85 % ROI → 0.7/0.85",
        ),
    ),
    _gpu_gauge(
        "themis_gpu_memory_bandwidth_utilization_ratio",
        "Fraction of the last NVML sampling window in which device memory was read or written (0-1).",
        Unit.RATIO,
    ),
    _gpu_gauge(
        "themis_vram_usage_bytes",
        "Device memory in use on the GPU, in bytes.",
        Unit.BYTES,
    ),
    _gpu_gauge("themis_vram_total_bytes", "Device memory installed on the GPU, in bytes.", Unit.BYTES),
    _gpu_gauge(
        "themis_gpu_temperature_celsius",
        "GPU core temperature in degrees Celsius.",
        Unit.CELSIUS,
        SeedName("swarm_gpu_temp_celsius"),
    ),
    _gpu_gauge(
        "themis_gpu_power_usage_watts",
        "Power the GPU board draws now, in watts.",
        Unit.WATTS,
        SeedName("themis_power_consumption_watts"),
    ),
    _gpu_gauge(
        "themis_gpu_power_limit_watts", "Power limit the driver enforces on the GPU board, in watts.", Unit.WATTS
    ),
    _gpu_gauge("themis_gpu_sm_clock_hertz", "Current streaming-multiprocessor clock of the GPU, in hertz.", Unit.HERTZ),
    Metric(
        "themis_gpu_energy_joules_total",
        MetricType.COUNTER,
        "Energy the GPU has consumed since the driver loaded, in joules.",
        Unit.JOULES,
        Source.GPU_EXPORTER,
        _GPU_LABELS,
    ),
    Metric(
        "themis_gpu_info",
        MetricType.GAUGE,
        "Always 1; identifies the GPU's model name and driver version for joins.",
        Unit.NONE,
        Source.GPU_EXPORTER,
        (
            *_GPU_LABELS,
            Label("name", "The GPU's product name as NVML reports it.", max_values=16),
            Label("driver_version", "The NVIDIA driver version.", max_values=4),
        ),
    ),
    Metric(
        "themis_gpu_available",
        MetricType.GAUGE,
        "1 while NVML answers for this GPU, 0 while it is lost or NVML is unavailable.",
        Unit.NONE,
        Source.GPU_EXPORTER,
        (SHARD, GPU),
    ),
    Metric(
        "themis_gpu_reading_age_seconds",
        MetricType.GAUGE,
        "Age of the GPU reading served, in seconds; it grows while NVML calls hang.",
        Unit.SECONDS,
        Source.GPU_EXPORTER,
        (SHARD, GPU),
    ),
)
