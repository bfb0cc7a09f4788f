"""Grafana: a sidecar ConfigMap per dashboard, and provisioning files for a Grafana without the sidecar."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

from observatory.config import ObservatoryConfig
from observatory.manifests.documents import app_labels, metadata

# Where the provisioning provider reads dashboards from: mount dashboards/generated there.
DASHBOARDS_PATH = "/var/lib/grafana/dashboards/themis"
DATASOURCE_UID = "themis-prometheus"
# The value the Grafana sidecar looks for on its label, unless its chart is told otherwise.
SIDECAR_LABEL_VALUE = "1"


def dashboard_config_maps(config: ObservatoryConfig, dashboard_files: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """One ConfigMap per generated dashboard file, keyed by the dashboard's slug, labelled for the Grafana sidecar."""
    key, value = config.grafana.dashboard_label, SIDECAR_LABEL_VALUE
    annotations = {config.grafana.folder_annotation: config.grafana.folder}
    maps = {}
    for path, text in dashboard_files.items():
        file_name = PurePosixPath(path).name
        slug = PurePosixPath(path).stem
        labels = {**app_labels("dashboards", slug), key: value}
        maps[slug] = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": metadata(f"themis-dashboard-{slug}", config.grafana.namespace, labels, annotations),
            "data": {file_name: text},
        }
    return maps


def datasource_provisioning(config: ObservatoryConfig) -> dict[str, Any]:
    """The Prometheus data source, the default one, which every dashboard's datasource variable lists."""
    return {
        "apiVersion": 1,
        "datasources": [
            {
                "name": "Prometheus",
                "type": "prometheus",
                "uid": DATASOURCE_UID,
                "access": "proxy",
                "url": config.grafana.datasource_url,
                "isDefault": True,
            }
        ],
    }


def dashboard_provisioning(config: ObservatoryConfig) -> dict[str, Any]:
    """A file provider loading the six dashboards into the configured folder, read-only."""
    return {
        "apiVersion": 1,
        "providers": [
            {
                "name": "themis",
                "folder": config.grafana.folder,
                "type": "file",
                "disableDeletion": True,
                "allowUiUpdates": False,
                "options": {"path": DASHBOARDS_PATH},
            }
        ],
    }
