"""Seed 000's four scrape jobs, shared by the ServiceMonitors and the plain prometheus.yml."""

from __future__ import annotations

from dataclasses import dataclass

from observatory.config import ObservatoryConfig
from observatory.manifests.workloads import (
    GPU_PORT,
    HOST_PORT,
    HTTP_PORT,
    ORCHESTRATOR_COMPONENT,
    ORCHESTRATOR_NAME,
    SHARD_COMPONENT,
    shard_service_name,
)

# Every scrape job serves /metrics; the seed's prometheus.yml sets the path explicitly.
METRICS_PATH = "/metrics"


@dataclass(frozen=True)
class ScrapeJob:
    """One scrape job: which component and port it scrapes, how often (None: the global interval).

    ``per_shard`` jobs scrape one target per shard and label each with the shard it belongs to.
    """

    name: str
    component: str
    port_name: str
    port: int
    interval: str | None
    per_shard: bool

    def targets(self, config: ObservatoryConfig) -> list[str]:
        """``host:port`` of every target, under the Service names the manifests give them."""
        if self.per_shard:
            return [f"{shard_service_name(domain)}:{self.port}" for domain in config.shards]
        return [f"{ORCHESTRATOR_NAME}:{self.port}"]


def scrape_jobs(config: ObservatoryConfig) -> tuple[ScrapeJob, ...]:
    """The jobs in seed 000's order, named as the rules expect them."""
    jobs, ports = config.jobs, config.ports
    return (
        ScrapeJob(jobs.shards, SHARD_COMPONENT, HTTP_PORT, ports.shard, config.prometheus.shard_scrape_interval, True),
        ScrapeJob(jobs.orchestrator, ORCHESTRATOR_COMPONENT, HTTP_PORT, config.ports.orchestrator, None, False),
        ScrapeJob(jobs.host, SHARD_COMPONENT, HOST_PORT, config.ports.host_exporter, None, True),
        ScrapeJob(jobs.gpu, SHARD_COMPONENT, GPU_PORT, config.ports.gpu_exporter, None, True),
    )
