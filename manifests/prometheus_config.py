"""prometheus.yml for users without the Prometheus Operator: seed 000's jobs, with a shard label per target."""

from __future__ import annotations

from typing import Any

from observatory.config import ObservatoryConfig
from observatory.manifests.scrape_jobs import METRICS_PATH, ScrapeJob, scrape_jobs
from observatory.manifests.workloads import shard_service_name

# Rule files sit beside prometheus.yml, as `observatory generate` writes them under rules/.
RULE_FILES = "rules/themis-*.yml"


def _shard_from_address(config: ObservatoryConfig) -> dict[str, Any]:
    # Targets are named `shard-<domain>:<port>`; the domain becomes the target's `shard` label.
    prefix = shard_service_name("")
    return {"source_labels": ["__address__"], "regex": f"{prefix}(.+):[0-9]+", "target_label": "shard"}


def scrape_config(config: ObservatoryConfig, job: ScrapeJob) -> dict[str, Any]:
    """One job of ``scrape_configs``."""
    data: dict[str, Any] = {"job_name": job.name}
    if job.interval is not None:
        data["scrape_interval"] = job.interval
    data["metrics_path"] = METRICS_PATH
    if job.per_shard:
        # The components label their own series with `shard`: honouring it keeps it from becoming `exported_shard`.
        data["honor_labels"] = True
    data["static_configs"] = [{"targets": job.targets(config)}]
    if job.per_shard:
        data["relabel_configs"] = [_shard_from_address(config)]
    return data


def prometheus_config(config: ObservatoryConfig) -> dict[str, Any]:
    """The whole prometheus.yml; ``remote_write`` only when endpoints are configured."""
    data: dict[str, Any] = {
        "global": {
            "scrape_interval": config.prometheus.scrape_interval,
            "scrape_timeout": config.prometheus.scrape_timeout,
            "evaluation_interval": config.prometheus.evaluation_interval,
        },
        "rule_files": [RULE_FILES],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [config.alertmanager.address]}]}]},
        "scrape_configs": [scrape_config(config, job) for job in scrape_jobs(config)],
    }
    if config.prometheus.remote_write_urls:
        data["remote_write"] = [{"url": url} for url in config.prometheus.remote_write_urls]
    return data
