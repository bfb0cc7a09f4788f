"""Where each generated deployment file goes, and the kustomization that ties the manifests together."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from observatory.config import ObservatoryConfig
from observatory.manifests.alertmanager_config import alertmanager_config
from observatory.manifests.documents import app_labels, metadata, yaml_documents, yaml_text
from observatory.manifests.grafana import dashboard_config_maps, dashboard_provisioning, datasource_provisioning
from observatory.manifests.guide import deploy_readme
from observatory.manifests.operator_objects import prometheus_rules, service_monitors
from observatory.manifests.prometheus_config import prometheus_config
from observatory.manifests.workloads import orchestrator_objects, shard_deployment, shard_service, shard_service_name
from observatory.rules.model import Group

DEPLOY_DIR = "deploy"
KUBERNETES_DIR = f"{DEPLOY_DIR}/kubernetes"
PROMETHEUS_FILE = f"{DEPLOY_DIR}/prometheus/prometheus.yml"
ALERTMANAGER_FILE = f"{DEPLOY_DIR}/alertmanager/alertmanager.yml"
GRAFANA_DATASOURCES_FILE = f"{DEPLOY_DIR}/grafana/provisioning/datasources/themis.yaml"
GRAFANA_DASHBOARDS_FILE = f"{DEPLOY_DIR}/grafana/provisioning/dashboards/themis.yaml"


def namespace(config: ObservatoryConfig) -> dict[str, Any]:
    """The shards' and orchestrator's namespace."""
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": metadata(config.kubernetes.namespace, None, app_labels("namespace", config.kubernetes.namespace)),
    }


def kubernetes_manifests(
    config: ObservatoryConfig, dashboard_files: Mapping[str, str], groups: Sequence[Group]
) -> dict[str, list[dict[str, Any]]]:
    """Every Kubernetes object, grouped by the file (relative to deploy/kubernetes) that holds it."""
    files: dict[str, list[dict[str, Any]]] = {"namespace.yaml": [namespace(config)]}
    for domain in config.shards:
        files[f"shards/{shard_service_name(domain)}.yaml"] = [
            shard_deployment(config, domain),
            shard_service(config, domain),
        ]
    files["orchestrator.yaml"] = orchestrator_objects(config)
    files["monitoring/servicemonitors.yaml"] = service_monitors(config)
    for rule in prometheus_rules(config, groups):
        files[f"monitoring/rules/{rule['metadata']['name']}.yaml"] = [rule]
    for slug, config_map in dashboard_config_maps(config, dashboard_files).items():
        files[f"dashboards/{slug}.yaml"] = [config_map]
    return files


def kustomization(resources: list[str]) -> dict[str, Any]:
    """kustomization.yaml listing every manifest file; each object names its own namespace."""
    return {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": resources}


def build_artefacts(
    config: ObservatoryConfig, dashboard_files: Mapping[str, str], groups: Sequence[Group]
) -> dict[str, str]:
    """Every file under deploy/ as text."""
    manifests = kubernetes_manifests(config, dashboard_files, groups)
    files = {f"{KUBERNETES_DIR}/{path}": yaml_documents(objects) for path, objects in manifests.items()}
    files[f"{KUBERNETES_DIR}/kustomization.yaml"] = yaml_text(kustomization(list(manifests)))
    files[PROMETHEUS_FILE] = yaml_text(prometheus_config(config))
    files[ALERTMANAGER_FILE] = yaml_text(alertmanager_config(config, groups))
    files[GRAFANA_DATASOURCES_FILE] = yaml_text(datasource_provisioning(config))
    files[GRAFANA_DASHBOARDS_FILE] = yaml_text(dashboard_provisioning(config))
    files[f"{DEPLOY_DIR}/README.md"] = deploy_readme(config)
    return files
