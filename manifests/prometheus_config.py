"""prometheus.yml for users without the Prometheus Operator: seed 000's jobs, with a shard label per target."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from observatory.config import ObservatoryConfig
from observatory.manifests.scrape_jobs import METRICS_PATH, ScrapeJob, scrape_jobs
from observatory.manifests.workloads import shard_service_name

# Rule files sit beside prometheus.yml, as `observatory generate` writes them under rules/.
RULE_FILES = "rules/themis-*.yml"

# Where a job's target listens, given the job and the shard (None for the orchestrator): ``host:port``.
Locate = Callable[[ScrapeJob, str | None], str]


def _shard_from_address(config: ObservatoryConfig) -> dict[str, Any]:
    # Targets are named `shard-<domain>:<port>`; the domain becomes the target's `shard` label.
    prefix = shard_service_name("")
    return {"source_labels": ["__address__"], "regex": f"{prefix}(.+):[0-9]+", "target_label": "shard"}


def _static_configs(config: ObservatoryConfig, job: ScrapeJob, locate: Locate) -> list[dict[str, Any]]:
    # Addresses such as 127.0.0.1:8081 do not name their shard: each target carries it as a label.
    if not job.per_shard:
        return [{"targets": [locate(job, None)]}]
    return [{"targets": [locate(job, domain)], "labels": {"shard": domain}} for domain in config.shards]


def scrape_config(config: ObservatoryConfig, job: ScrapeJob, locate: Locate | None = None) -> dict[str, Any]:
    """One job of ``scrape_configs``: at the Service names of the manifests, or where ``locate`` says."""
    data: dict[str, Any] = {"job_name": job.name}
    if job.interval is not None:
        data["scrape_interval"] = job.interval
    data["metrics_path"] = METRICS_PATH
    if job.per_shard:
        # The components label their own series with `shard`: honouring it keeps it from becoming `exported_shard`.
        data["honor_labels"] = True
    if locate is not None:
        data["static_configs"] = _static_configs(config, job, locate)
        return data
    data["static_configs"] = [{"targets": job.targets(config)}]
    if job.per_shard:
        data["relabel_configs"] = [_shard_from_address(config)]
    return data


def prometheus_config(
    config: ObservatoryConfig, locate: Locate | None = None, rule_files: Sequence[str] = (RULE_FILES,)
) -> dict[str, Any]:
    """The whole prometheus.yml; ``remote_write`` only when endpoints are configured, the external label
    ``cluster`` only when the configuration names a cluster.

    The generated file scrapes the manifests' Service names. A local stack passes ``locate`` (its
    loopback addresses) and its rule files, and intervals and the Alertmanager address in ``config``.
    """
    data: dict[str, Any] = {
        "global": {
            "scrape_interval": config.prometheus.scrape_interval,
            "scrape_timeout": config.prometheus.scrape_timeout,
            "evaluation_interval": config.prometheus.evaluation_interval,
        },
        "rule_files": list(rule_files),
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [config.alertmanager.address]}]}]},
        "scrape_configs": [scrape_config(config, job, locate) for job in scrape_jobs(config)],
    }
    if config.cluster:
        # Attached to every sample remote-written and every alert sent: a global view tells clusters apart by it.
        data["global"]["external_labels"] = {"cluster": config.cluster}
    if config.prometheus.remote_write_urls:
        data["remote_write"] = [{"url": url} for url in config.prometheus.remote_write_urls]
    return data
