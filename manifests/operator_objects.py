"""Prometheus Operator resources: a PrometheusRule per rule group and a ServiceMonitor per scrape job."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from observatory.config import ObservatoryConfig
from observatory.manifests.documents import app_labels, metadata
from observatory.manifests.scrape_jobs import METRICS_PATH, ScrapeJob, scrape_jobs
from observatory.manifests.workloads import SHARD_LABEL
from observatory.rules.model import Group
from observatory.rules.render import rule_as_dict

API_VERSION = "monitoring.coreos.com/v1"


def _labels(config: ObservatoryConfig, component: str, instance: str) -> dict[str, str]:
    key, value = config.kubernetes.release_label, config.kubernetes.release
    return {**app_labels(component, instance), key: value}


def prometheus_rule(config: ObservatoryConfig, group: Group) -> dict[str, Any]:
    """One rule group as a PrometheusRule, labelled for kube-prometheus-stack's rule selector."""
    return {
        "apiVersion": API_VERSION,
        "kind": "PrometheusRule",
        "metadata": metadata(group.name, config.kubernetes.namespace, _labels(config, "rules", group.name)),
        "spec": {"groups": [{"name": group.name, "rules": [rule_as_dict(rule) for rule in group.rules]}]},
    }


def prometheus_rules(config: ObservatoryConfig, groups: Sequence[Group]) -> list[dict[str, Any]]:
    """Every rule group, each its own PrometheusRule."""
    return [prometheus_rule(config, group) for group in groups]


def shard_relabelling(source_label: str) -> dict[str, Any]:
    """The relabelling step that copies a target's shard into the ``shard`` label."""
    return {"sourceLabels": [source_label], "targetLabel": "shard"}


def _endpoint(job: ScrapeJob) -> dict[str, Any]:
    # The operator names the job after the Service; the rules and dashboards expect seed 000's job names.
    relabelings: list[dict[str, Any]] = [{"targetLabel": "job", "replacement": job.name}]
    endpoint: dict[str, Any] = {"port": job.port_name, "path": METRICS_PATH}
    if job.interval is not None:
        endpoint["interval"] = job.interval
    if job.per_shard:
        service_label = "__meta_kubernetes_service_label_" + SHARD_LABEL.replace(".", "_").replace("/", "_")
        relabelings.append(shard_relabelling(service_label))
        # The components label their own series with `shard`; honouring it keeps it from becoming `exported_shard`.
        endpoint["honorLabels"] = True
    endpoint["relabelings"] = relabelings
    return endpoint


def service_monitor(config: ObservatoryConfig, job: ScrapeJob) -> dict[str, Any]:
    """A ServiceMonitor scraping one job's port on every matching Service in the namespace."""
    return {
        "apiVersion": API_VERSION,
        "kind": "ServiceMonitor",
        "metadata": metadata(job.name, config.kubernetes.namespace, _labels(config, "monitoring", job.name)),
        "spec": {
            "namespaceSelector": {"matchNames": [config.kubernetes.namespace]},
            "selector": {"matchLabels": {"app.kubernetes.io/component": job.component}},
            "endpoints": [_endpoint(job)],
        },
    }


def service_monitors(config: ObservatoryConfig) -> list[dict[str, Any]]:
    """One ServiceMonitor per scrape job of seed 000."""
    return [service_monitor(config, job) for job in scrape_jobs(config)]
