"""Metrics of the psutil host exporter, which runs beside each shard."""

from observatory.catalogue.labels import SHARD
from observatory.metric import Label, Metric, MetricType, SeedName, Source, Unit

CPU_MODE = Label(
    "mode",
    "The CPU time category as the kernel counts it.",
    values=("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"),
)
INTERFACE = Label("interface", "The network interface name.", max_values=16)


def _host(name: str, type: MetricType, help: str, unit: Unit, labels=(SHARD,), seed: SeedName | None = None) -> Metric:
    return Metric(name, type, help, unit, Source.HOST_EXPORTER, tuple(labels), seed=seed)


HOST_METRICS = (
    _host(
        "themis_cpu_seconds_total",
        MetricType.COUNTER,
        "CPU time the host spent in each mode, summed over its CPUs, in seconds.",
        Unit.SECONDS,
        (SHARD, CPU_MODE),
        SeedName(
            "themis_cpu_usage_percent",
            "100 * (1 - idle share of rate(themis_cpu_seconds_total))",
            "> 80 % (seed 004) → > 0.8; 80/95 % panel → 0.8/0.95",
        ),
    ),
    _host("themis_cpus", MetricType.GAUGE, "Number of logical CPUs on the host.", Unit.NONE),
    _host(
        "themis_ram_usage_bytes",
        MetricType.GAUGE,
        "Host memory in use (total minus available), in bytes.",
        Unit.BYTES,
    ),
    _host("themis_ram_total_bytes", MetricType.GAUGE, "Host memory installed, in bytes.", Unit.BYTES),
    _host(
        "themis_network_sent_bytes_total",
        MetricType.COUNTER,
        "Bytes the host sent on each network interface.",
        Unit.BYTES,
        (SHARD, INTERFACE),
        SeedName("themis_network_bytes_sent_total"),
    ),
    _host(
        "themis_network_received_bytes_total",
        MetricType.COUNTER,
        "Bytes the host received on each network interface.",
        Unit.BYTES,
        (SHARD, INTERFACE),
        SeedName("themis_network_bytes_received_total"),
    ),
    _host(
        "themis_active_connections",
        MetricType.GAUGE,
        "Established TCP connections to the shard's service port.",
        Unit.NONE,
    ),
    _host(
        "themis_shard_process_cpu_seconds_total",
        MetricType.COUNTER,
        "CPU time the shard process used (user and system), in seconds.",
        Unit.SECONDS,
    ),
    _host(
        "themis_shard_process_resident_memory_bytes",
        MetricType.GAUGE,
        "Resident memory of the shard process, in bytes.",
        Unit.BYTES,
    ),
)
