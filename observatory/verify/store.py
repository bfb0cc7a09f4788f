"""Checks for a global view (VictoriaMetrics, Thanos, Mimir) that several Prometheus servers remote-write into.

Such a store evaluates no rules: each cluster's Prometheus does, and its recorded series and ``ALERTS``
arrive with the cluster's external label. Rules are then checked by what they wrote, cluster by cluster.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from observatory.rules.model import Group
from observatory.verify.http import PrometheusApi
from observatory.verify.report import AlertmanagerResult


def is_store(api: PrometheusApi, clusters: Sequence[str]) -> bool:
    """Whether the server loads no rules while holding several clusters' series: it is fed, not evaluating."""
    return bool(clusters) and not api.get("rules")["groups"]


def missing_recorded(api: PrometheusApi, groups: Sequence[Group], clusters: Sequence[str]) -> tuple[str, ...]:
    """Each recording rule's output that a cluster has not written: its rules do not run there, or record only
    NaN (a ratio of zero rates), which a store keeps no value of."""
    missing = []
    for record in dict.fromkeys(rule.record for group in groups for rule in group.recordings):
        result = api.query(f"count by (cluster) ({{__name__={json.dumps(record)}}})")
        present = {series["metric"].get("cluster", "") for series in result}
        missing += [f"cluster {cluster}: recorded series {record} has no value" for cluster in clusters
                    if cluster not in present]  # fmt: skip
    return tuple(missing)


def firing_alert_series(api: PrometheusApi) -> tuple[str, ...]:
    """Alerts firing now, from the ``ALERTS`` series the clusters wrote, each with its labels (cluster too)."""
    described = []
    for series in api.query('ALERTS{alertstate="firing"}'):
        labels = {k: v for k, v in series["metric"].items() if k not in ("__name__", "alertname", "alertstate")}
        inner = ", ".join(f"{k}={v}" for k, v in sorted(labels.items()))
        described.append(f"{series['metric'].get('alertname', '')} {{{inner}}}")
    return tuple(sorted(described))


def no_alertmanager(base_url: str) -> AlertmanagerResult:
    """What a store says about Alertmanager when none is named: the clusters' servers send the alerts."""
    return AlertmanagerResult(True, f"not checked: {base_url} evaluates no rules; each cluster's Prometheus alerts")
