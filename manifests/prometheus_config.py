"""prometheus.yml for users without the Prometheus Operator: seed 000's jobs, with a shard label per target."""

from __future__ import annotations

from typing import Any

from observatory.manifests.config import DeployConfig
from observatory.manifests.scrape_jobs import METRICS_PATH, ScrapeJob, scrape_jobs

# Rule files sit beside prometheus.yml, as `observatory generate` writes them under rules/.
RULE_FILES = "rules/themis-*.yml"


def _shard_from_address(config: DeployConfig) -> dict[str, Any]:
    # Targets are named `shard-<domain>:<port>`; the domain becomes the target's `shard` label.
    prefix = config.shard_service("")
    return {"source_labels": ["__address__"], "regex": f"{prefix}(.+):[0-9]+", "target_label": "shard"}


def scrape_config(config: DeployConfig, job: ScrapeJob) -> dict[str, Any]:
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


def prometheus_config(config: DeployConfig) -> dict[str, Any]:
    """The whole prometheus.yml; ``remote_write`` only when endpoints are configured."""
    data: dict[str, Any] = {
        "global": {
            "scrape_interval": config.global_scrape_interval,
            "evaluation_interval": config.global_scrape_interval,
        },
        "rule_files": [RULE_FILES],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [config.alertmanager_address]}]}]},
        "scrape_configs": [scrape_config(config, job) for job in scrape_jobs(config)],
    }
    if config.remote_write_urls:
        data["remote_write"] = [{"url": url} for url in config.remote_write_urls]
    return data
