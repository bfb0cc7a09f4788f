"""Seed 000's four scrape jobs, shared by the ServiceMonitors and the plain prometheus.yml."""

from __future__ import annotations

from dataclasses import dataclass

from observatory.manifests.config import DeployConfig
from observatory.manifests.workloads import (
    GPU_PORT,
    HOST_PORT,
    HTTP_PORT,
    ORCHESTRATOR_COMPONENT,
    ORCHESTRATOR_NAME,
    SHARD_COMPONENT,
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

    def targets(self, config: DeployConfig) -> list[str]:
        """``host:port`` of every target, under the Service names the manifests give them."""
        if self.per_shard:
            return [f"{config.shard_service(domain)}:{self.port}" for domain in config.domains]
        return [f"{ORCHESTRATOR_NAME}:{self.port}"]


def scrape_jobs(config: DeployConfig) -> tuple[ScrapeJob, ...]:
    """The jobs in seed 000's order, named as the rules expect them."""
    jobs = config.rules.jobs
    return (
        ScrapeJob(jobs.shards, SHARD_COMPONENT, HTTP_PORT, config.shard_port, config.shard_scrape_interval, True),
        ScrapeJob(jobs.orchestrator, ORCHESTRATOR_COMPONENT, HTTP_PORT, config.orchestrator_port, None, False),
        ScrapeJob(jobs.host, SHARD_COMPONENT, HOST_PORT, config.host_exporter_port, None, True),
        ScrapeJob(jobs.gpu, SHARD_COMPONENT, GPU_PORT, config.gpu_exporter_port, None, True),
    )
