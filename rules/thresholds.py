"""Every knob of the rules in one parameters object: thresholds, SLOs, scrape jobs and link bases.

Generation is a pure function of a :class:`RuleConfig`; change a value here (or pass a modified
copy) and the alert expression, its promtool test and its runbook change together.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Thresholds:
    """Alert thresholds, in the catalogue's base units (seconds, 0-1 ratios, per second)."""

    # seed 000
    latency_p95_seconds: float = 2.0
    vram_usage_ratio: float = 0.90
    gpu_degraded_utilization_ratio: float = 0.20
    gpu_degraded_min_requests_per_second: float = 1.0
    min_tokens_per_second: float = 20.0
    kv_cache_miss_ratio: float = 0.30
    lora_switch_p95_seconds: float = 0.2
    # seed 001 (its 10 ms p99 was set for a vector-search stack; LLM inference gets a bucket bound)
    latency_p99_seconds: float = 5.0
    error_ratio_warning: float = 0.01
    gpu_low_utilization_ratio: float = 0.40
    # seed 001 "throughput below target" and seed 004 "low throughput" are one alert
    min_cluster_requests_per_second: float = 10.0
    # seed 002
    fragmentation_risk_requests_per_second: float = 65.0
    fragmentation_events: float = 0.0
    # seed 004
    cpu_usage_ratio: float = 0.80
    ram_usage_ratio: float = 0.85
    error_ratio_critical: float = 0.05
    # exporters' own health
    exporter_collection_errors: float = 0.0
    # orchestrator: durable tasks waiting for an owner
    orchestrator_task_queue_depth: float = 50.0


@dataclass(frozen=True)
class Jobs:
    """Scrape job names (seed 000's prometheus.yml); a later generator writes prometheus.yml from these."""

    shards: str = "themisdb-shards"
    orchestrator: str = "themisdb-orchestrator"
    host: str = "node-exporter"
    gpu: str = "nvidia-gpu-exporter"


@dataclass(frozen=True)
class BurnTier:
    """One multi-window burn-rate alert of the SRE workbook: both windows must burn ``factor`` times."""

    long_window: str
    short_window: str
    factor: float
    severity: str
    enabled: bool = True


WORKBOOK_TIERS = (
    BurnTier("1h", "5m", 14.4, "critical"),
    BurnTier("6h", "30m", 6.0, "critical"),
    BurnTier("1d", "2h", 3.0, "warning"),
    BurnTier("3d", "6h", 1.0, "warning"),
)


@dataclass(frozen=True)
class SLOTargets:
    """Seed 000's goals: 99.9 % availability and p95 latency under 2 s."""

    availability_objective: float = 0.999
    latency_objective: float = 0.95
    latency_threshold_seconds: float = 2.0
    period: str = "30d"
    tiers: tuple[BurnTier, ...] = WORKBOOK_TIERS


@dataclass(frozen=True)
class RuleConfig:
    """The one parameters object every rule, test and runbook is generated from."""

    thresholds: Thresholds = field(default_factory=Thresholds)
    slo: SLOTargets = field(default_factory=SLOTargets)
    jobs: Jobs = field(default_factory=Jobs)
    grafana_url: str = "http://localhost:3000"
    runbook_url: str = "docs/runbooks.md"


DEFAULT_CONFIG = RuleConfig()
