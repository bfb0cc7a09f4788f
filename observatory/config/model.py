"""The one monitoring configuration: every knob of the rules, tests, runbooks, dashboards and manifests.

Generation is a pure function of an :class:`ObservatoryConfig`. Users override any field from a YAML
file (``observatory generate --config FILE``, see :mod:`observatory.config.loading`), the way a
monitoring mixin's ``_config`` is overridden. Fields typed :data:`Duration` hold a Prometheus
duration (``30s``, ``5m``, ``30d``), :data:`Ratio` a 0-1 fraction; the loader checks both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NewType

from observatory.catalogue import CATALOGUE
from observatory.config.values import number, seconds

Duration = NewType("Duration", str)
Ratio = NewType("Ratio", float)
Port = NewType("Port", int)
Url = NewType("Url", str)
Severity = NewType("Severity", str)
# PromQL label matchers, such as ``job="themisdb-shards", namespace="ai"``.
Selector = NewType("Selector", str)


@dataclass(frozen=True)
class Thresholds:
    """Alert thresholds, in the catalogue's base units (seconds, 0-1 ratios, per second)."""

    # seed 000; a shard whose health (1 healthy, 0.5 degraded, 0 unhealthy) averages below this is down
    shard_health_floor: Ratio = Ratio(0.5)
    latency_p95_seconds: float = 2.0
    vram_usage_ratio: Ratio = Ratio(0.90)
    gpu_degraded_utilization_ratio: Ratio = Ratio(0.20)
    gpu_degraded_min_requests_per_second: float = 1.0
    min_tokens_per_second: float = 20.0
    kv_cache_miss_ratio: Ratio = Ratio(0.30)
    lora_switch_p95_seconds: float = 0.2
    # seed 000: vector search p95 under 10 ms on a GPU index (the panel's target); seed 001 alerts on p99
    vector_search_p95_seconds: float = 0.01
    vector_search_p99_seconds: float = 0.01
    # seed 001 (its 10 ms p99 was set for a vector-search stack; LLM inference gets a bucket bound)
    latency_p99_seconds: float = 5.0
    error_ratio_warning: Ratio = Ratio(0.01)
    gpu_low_utilization_ratio: Ratio = Ratio(0.40)
    # seed 001 "throughput below target" and seed 004 "low throughput" are one alert
    min_cluster_requests_per_second: float = 10.0
    # seed 002
    fragmentation_risk_requests_per_second: float = 65.0
    fragmentation_events: float = 0.0
    # seed 004
    cpu_usage_ratio: Ratio = Ratio(0.80)
    ram_usage_ratio: Ratio = Ratio(0.85)
    error_ratio_critical: Ratio = Ratio(0.05)
    # Error-ratio and burn-rate alerts stay quiet below this traffic: one failure among a handful of
    # requests is not an outage.
    min_traffic_requests_per_second: float = 0.2
    # exporters' own health
    exporter_collection_errors: float = 0.0
    # A shard that started again this many times within windows.restarts is crash-looping.
    shard_restarts: float = 3.0
    # serving signals (issue 8) and the orchestrator's durable tasks (issue 9): their alerts read these
    time_to_first_token_p95_seconds: float = 2.5
    queue_time_p95_seconds: float = 5.0
    queue_full_ratio: Ratio = Ratio(0.8)
    orchestrator_task_queue_depth: float = 50.0


@dataclass(frozen=True)
class ForDurations:
    """How long each alert's condition must hold before it fires (its ``for``)."""

    shard_down: Duration = Duration("30s")
    shard_crash_loop: Duration = Duration("0s")
    latency_p95: Duration = Duration("2m")
    latency_p99: Duration = Duration("5m")
    vector_search_latency: Duration = Duration("5m")
    throughput_low: Duration = Duration("5m")
    errors: Duration = Duration("1m")
    token_generation_low: Duration = Duration("2m")
    kv_cache_miss: Duration = Duration("5m")
    lora_switch: Duration = Duration("2m")
    fragmentation: Duration = Duration("0s")
    fragmentation_risk: Duration = Duration("2m")
    time_to_first_token: Duration = Duration("5m")
    queue_time: Duration = Duration("5m")
    queue_full: Duration = Duration("2m")
    orchestrator_no_shard: Duration = Duration("1m")
    orchestrator_failover: Duration = Duration("5m")
    orchestrator_stale_writes: Duration = Duration("0s")
    orchestrator_backlog: Duration = Duration("10m")
    vram: Duration = Duration("1m")
    gpu_lost: Duration = Duration("1m")
    gpu_degraded: Duration = Duration("5m")
    gpu_low_utilization: Duration = Duration("10m")
    host_cpu: Duration = Duration("5m")
    host_memory: Duration = Duration("5m")
    target_down: Duration = Duration("1m")
    target_missing: Duration = Duration("5m")
    series_missing: Duration = Duration("10m")
    collector_failing: Duration = Duration("5m")
    burn_rate: Duration = Duration("0s")


@dataclass(frozen=True)
class Windows:
    """Range windows of the alert expressions (recording rules' rate window is part of their names: 5m)."""

    # Gauges that flap (health 0,0,1; utilisation 10 %/25 %) are judged on their average over this
    # window, so one good sample does not restart a sustained condition's `for` timer.
    smoothing: Duration = Duration("5m")
    # A shard younger than this is starting (loading its model); seed 000 quotes 30-60 s for large models.
    startup_grace: Duration = Duration("5m")
    # Restarts of a shard are counted over this window (seed 000's cold start is 30-60 s).
    restarts: Duration = Duration("15m")
    fragmentation: Duration = Duration("15m")
    collection_errors: Duration = Duration("10m")
    # Failovers and unroutable requests are counted over this window: any in it is an incident.
    routing: Duration = Duration("5m")
    store_conflicts: Duration = Duration("10m")


@dataclass(frozen=True)
class BurnTier:
    """One multi-window burn-rate alert of the SRE workbook: both windows must burn ``factor`` times."""

    long_window: Duration
    short_window: Duration
    factor: float
    severity: Severity
    enabled: bool = True


WORKBOOK_TIERS = (
    BurnTier(Duration("1h"), Duration("5m"), 14.4, Severity("critical")),
    BurnTier(Duration("6h"), Duration("30m"), 6.0, Severity("critical")),
    BurnTier(Duration("1d"), Duration("2h"), 3.0, Severity("warning")),
    BurnTier(Duration("3d"), Duration("6h"), 1.0, Severity("warning")),
)


@dataclass(frozen=True)
class SLOTargets:
    """Seed 000's goals: 99.9 % availability and p95 latency under 2 s, over a rolling period."""

    availability_objective: Ratio = Ratio(0.999)
    latency_objective: Ratio = Ratio(0.95)
    latency_threshold_seconds: float = 2.0
    period: Duration = Duration("30d")
    tiers: tuple[BurnTier, ...] = WORKBOOK_TIERS


@dataclass(frozen=True)
class Goodput:
    """Per-request serving objectives, as aiperf and guidellm count goodput, and the share that must meet them.

    A shard attains an objective when at least ``attainment_objective`` of its requests over 5 minutes meet
    it; the goodput alert fires when the share stays lower for ``attainment_for``. Prometheus counts only the
    requests at or below a bucket bound, so each objective must be a bound of its histogram.
    """

    # Interactive chat: the first words within a second, then 20 tokens/s (the token generation floor).
    time_to_first_token_seconds: float = 1.0
    time_per_output_token_seconds: float = 0.05
    attainment_objective: Ratio = Ratio(0.9)
    attainment_for: Duration = Duration("10m")

    def __post_init__(self) -> None:
        for key, histogram in GOODPUT_HISTOGRAMS.items():
            bounds = CATALOGUE[histogram].buckets
            if getattr(self, key) not in bounds:
                raise ValueError(
                    f"{key}: {number(getattr(self, key))} is not a bucket bound of {histogram}"
                    f" ({', '.join(number(bound) for bound in bounds)})"
                )


# Each goodput objective and the histogram whose bucket bound it must be.
GOODPUT_HISTOGRAMS = {
    "time_to_first_token_seconds": "themis_inference_time_to_first_token_seconds",
    "time_per_output_token_seconds": "themis_inference_time_per_output_token_seconds",
}


@dataclass(frozen=True)
class Jobs:
    """Scrape job names (seed 000's prometheus.yml): the scrape configs, and the selectors left empty."""

    shards: str = "themisdb-shards"
    orchestrator: str = "themisdb-orchestrator"
    host: str = "node-exporter"
    gpu: str = "nvidia-gpu-exporter"


@dataclass(frozen=True)
class Selectors:
    """PromQL label matchers selecting each component's targets (a mixin's ``shardSelector``).

    Every selector of the component's metrics in the rules, recording rules, SLOs and dashboards, and its
    ``up`` series, carries them: ``job="themisdb-shards", namespace="ai"`` keeps another namespace's shards
    out. Empty selects by job name alone: ``job="<jobs.shards>"``.
    """

    shards: Selector = Selector("")
    orchestrator: Selector = Selector("")
    host: Selector = Selector("")
    gpu: Selector = Selector("")


@dataclass(frozen=True)
class Ports:
    """Ports the components listen on (seed 000)."""

    shard: Port = Port(8080)
    orchestrator: Port = Port(8000)
    gpu_exporter: Port = Port(9835)
    host_exporter: Port = Port(9100)


@dataclass(frozen=True)
class Prometheus:
    """How Prometheus runs: scrape and evaluation cadence, and how long it keeps samples."""

    scrape_interval: Duration = Duration("15s")
    scrape_timeout: Duration = Duration("10s")
    evaluation_interval: Duration = Duration("15s")
    # Must cover the SLO period: the budget is computed from samples that old.
    retention: Duration = Duration("35d")
    # Seed 000 scrapes the shards more often than the other jobs.
    shard_scrape_interval: Duration = Duration("10s")
    # Remote-write endpoints (Thanos Receive, Mimir, Cortex); empty keeps one self-contained Prometheus.
    remote_write_urls: tuple[Url, ...] = ()


@dataclass(frozen=True)
class Alertmanager:
    """Where Prometheus sends alerts, and the webhook the generated alertmanager.yml routes them to."""

    address: str = "alertmanager:9093"
    webhook_url: Url = Url("http://alert-receiver:5001/alerts")


@dataclass(frozen=True)
class Resources:
    """Requests and limits of one container, as Kubernetes quantities; an empty CPU limit sets none."""

    cpu_request: str
    memory_request: str
    memory_limit: str
    cpu_limit: str = ""


@dataclass(frozen=True)
class Kubernetes:
    """Where the manifests go and the label kube-prometheus-stack's operator selects them by."""

    namespace: str = "themis"
    release: str = "kube-prometheus-stack"
    # The label key kube-prometheus-stack selects rules and monitors by; its value is ``release``.
    release_label: str = "release"
    image: str = "ghcr.io/themis/observatory:0.1.0"
    # A GPU profile of the shard runtime gives each shard one GPU; empty runs the shards on CPU.
    gpu_profile: str = "rtx_4070"
    orchestrator_replicas: int = 2
    # The Secret holding the orchestrators' store URL; created by the cluster's operator, never generated.
    store_secret: str = "themis-store"
    store_secret_key: str = "url"
    shard_resources: Resources = field(default_factory=lambda: Resources("2", "8Gi", "16Gi"))
    exporter_resources: Resources = field(default_factory=lambda: Resources("50m", "64Mi", "128Mi", "200m"))
    orchestrator_resources: Resources = field(default_factory=lambda: Resources("500m", "512Mi", "1Gi"))


@dataclass(frozen=True)
class Grafana:
    """How Grafana finds the dashboards: the sidecar's label and folder annotation, or provisioning files."""

    # The Grafana sidecar of kube-prometheus-stack watches its own namespace unless told otherwise.
    namespace: str = "monitoring"
    folder: str = "Themis"
    dashboard_label: str = "grafana_dashboard"
    folder_annotation: str = "grafana_folder"
    datasource_url: Url = Url("http://prometheus:9090")


@dataclass(frozen=True)
class Links:
    """Absolute bases of the links in every alert notification."""

    grafana_url: Url = Url("http://localhost:3000")
    # Where docs/runbooks.md is published; each alert links to its section (an example host: set yours).
    runbook_url: Url = Url("https://observatory.example.com/docs/runbooks.md")


@dataclass(frozen=True)
class CostPrices:
    """Prices the cost panels use; the defaults come from the seed (000, Cost & ROI dashboard)."""

    # An RTX 4090 (about €1,800) written off over 36 months.
    gpu_cost_per_month_eur: float = 50.0
    # The seed's 450 W ≈ €1.5/day is 10.8 kWh a day, about €0.14/kWh.
    electricity_eur_per_kwh: float = 0.14
    # The seed's GPT-4 price per query (the seed writes $0.03; taken as euros).
    api_price_per_query_eur: float = 0.03
    # The seed's GPT-4 API price per million tokens.
    api_price_per_million_tokens_eur: float = 30.0
    # What one GPU cost to buy: the amount break-even must recover.
    gpu_purchase_eur: float = 1800.0


@dataclass(frozen=True)
class PanelThresholds:
    """Colour steps of dashboard panels that no alert shares (those read :class:`Thresholds`)."""

    throughput_red_requests_per_second: float = 5.0
    latency_yellow_seconds: float = 1.0
    utilization_red_ratio: Ratio = Ratio(0.95)
    memory_yellow_ratio: Ratio = Ratio(0.75)
    active_connections_yellow: float = 50.0
    active_connections_red: float = 100.0
    in_flight_yellow_ratio: Ratio = Ratio(0.8)
    gpu_temperature_yellow_celsius: float = 70.0
    gpu_temperature_red_celsius: float = 85.0
    gpu_reading_age_yellow_seconds: float = 30.0
    gpu_reading_age_red_seconds: float = 60.0
    exporter_success_age_yellow_seconds: float = 60.0
    exporter_success_age_red_seconds: float = 300.0
    budget_remaining_yellow_ratio: Ratio = Ratio(0.25)
    lora_cache_hit_target_ratio: Ratio = Ratio(0.7)
    network_health_red_ratio: Ratio = Ratio(0.8)
    network_health_green_ratio: Ratio = Ratio(0.95)
    tokens_per_second_green: float = 50.0
    kv_cache_usage_target_ratio: Ratio = Ratio(0.7)
    kv_cache_miss_target_ratio: Ratio = Ratio(0.2)
    active_lora_adapters_yellow: float = 9.0
    fragmentation_events_yellow: float = 1.0
    fragmentation_events_red: float = 10.0
    vector_queries_red_per_second: float = 10.0
    vector_queries_green_per_second: float = 200.0
    index_vram_yellow_percent: float = 80.0
    recall_red_ratio: Ratio = Ratio(0.8)
    recall_green_ratio: Ratio = Ratio(0.9)
    vector_search_latency_red_seconds: float = 0.05
    search_failures_red_per_second: float = 0.1
    reasoning_success_target_ratio: Ratio = Ratio(0.95)
    reasoning_duration_yellow_seconds: float = 60.0
    reasoning_duration_red_seconds: float = 300.0
    gpu_utilization_good_ratio: Ratio = Ratio(0.7)
    gpu_utilization_excellent_ratio: Ratio = Ratio(0.85)
    # Seed targets read as the share of observations under a bound (a stat beside each bucket panel).
    consensus_target_seconds: float = 0.5
    reasoning_consensus_target_seconds: float = 1.0
    consensus_target_share: Ratio = Ratio(0.9)
    lora_switch_target_seconds: float = 0.1


@dataclass(frozen=True)
class ObservatoryConfig:
    """The one configuration every rule, test, runbook, dashboard and manifest is generated from.

    ``cluster``, when set, is the value of a ``cluster`` label that every generated alert carries, so
    that one Alertmanager can tell clusters apart.
    """

    thresholds: Thresholds = field(default_factory=Thresholds)
    for_durations: ForDurations = field(default_factory=ForDurations)
    windows: Windows = field(default_factory=Windows)
    slo: SLOTargets = field(default_factory=SLOTargets)
    goodput: Goodput = field(default_factory=Goodput)
    jobs: Jobs = field(default_factory=Jobs)
    selectors: Selectors = field(default_factory=Selectors)
    ports: Ports = field(default_factory=Ports)
    prometheus: Prometheus = field(default_factory=Prometheus)
    kubernetes: Kubernetes = field(default_factory=Kubernetes)
    alertmanager: Alertmanager = field(default_factory=Alertmanager)
    grafana: Grafana = field(default_factory=Grafana)
    # The shard domains the cluster runs (seed 000), each a shard-<domain> service.
    shards: tuple[str, ...] = ("legal", "finance", "medical", "technical")
    links: Links = field(default_factory=Links)
    costs: CostPrices = field(default_factory=CostPrices)
    panels: PanelThresholds = field(default_factory=PanelThresholds)
    cluster: str = ""

    def __post_init__(self) -> None:
        for name in ("scrape_interval", "shard_scrape_interval"):
            if seconds(getattr(self.prometheus, name)) < seconds(self.prometheus.scrape_timeout):
                raise ValueError(f"prometheus.{name}: shorter than prometheus.scrape_timeout")
        if seconds(self.slo.period) > seconds(self.prometheus.retention):
            raise ValueError(
                f"slo.period: {self.slo.period} is longer than prometheus.retention {self.prometheus.retention}"
            )


DEFAULT_CONFIG = ObservatoryConfig()
