"""What a deployment varies: namespace, images, shards, resources, the monitoring stack's labels and addresses.

Every manifest, prometheus.yml and alertmanager.yml is a pure function of one :class:`DeployConfig`
and the rule configuration (scrape job names, thresholds).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from observatory.config import DEFAULT_CONFIG, ObservatoryConfig


@dataclass(frozen=True)
class Resources:
    """Requests and limits of one container (Kubernetes quantities)."""

    cpu_request: str
    memory_request: str
    memory_limit: str
    cpu_limit: str | None = None


@dataclass(frozen=True)
class DeployConfig:
    """The one parameters object of the generated deployment files."""

    rules: ObservatoryConfig = field(default_factory=lambda: DEFAULT_CONFIG)
    namespace: str = "themis"
    image: str = "ghcr.io/themis/observatory:0.1.0"
    domains: tuple[str, ...] = ("legal", "finance", "medical", "technical")
    shard_port: int = 8080
    gpu_exporter_port: int = 9835
    host_exporter_port: int = 9100
    orchestrator_port: int = 8000
    orchestrator_replicas: int = 2
    # The Secret (created by the operator of the cluster, never generated) holding the store's URL.
    store_secret: str = "themis-store"
    store_secret_key: str = "url"
    # A GPU profile (runtime/vram.py) gives each shard a GPU; None runs the shards on CPU.
    gpu_profile: str | None = "rtx_4070"
    shard_resources: Resources = Resources("2", "8Gi", "16Gi")
    exporter_resources: Resources = Resources("50m", "64Mi", "128Mi", "200m")
    orchestrator_resources: Resources = Resources("500m", "512Mi", "1Gi")
    # kube-prometheus-stack selects rules and monitors by this label; objects without it are ignored.
    release_label: tuple[str, str] = ("release", "kube-prometheus-stack")
    grafana_dashboard_label: tuple[str, str] = ("grafana_dashboard", "1")
    grafana_folder_annotation: str = "grafana_folder"
    grafana_folder: str = "Themis"
    # The Grafana sidecar of kube-prometheus-stack watches its own namespace unless told otherwise.
    grafana_namespace: str = "monitoring"
    global_scrape_interval: str = "15s"
    shard_scrape_interval: str = "10s"
    prometheus_url: str = "http://prometheus:9090"
    alertmanager_address: str = "alertmanager:9093"
    webhook_url: str = "http://alert-receiver:5001/alerts"
    # Remote-write endpoints (Thanos Receive, Mimir, Cortex); empty keeps one self-contained Prometheus.
    remote_write_urls: tuple[str, ...] = ()

    def shard_service(self, domain: str) -> str:
        """The Service (and DNS) name of a shard, as seed 000's prometheus.yml writes its targets."""
        return f"shard-{domain}"


DEFAULT_DEPLOY = DeployConfig()
