"""The shard and orchestrator Deployments and Services, with the exporters as sidecars of each shard."""

from __future__ import annotations

from typing import Any

import yaml

from observatory.manifests.config import DeployConfig, Resources
from observatory.manifests.documents import app_labels, metadata
from observatory.manifests.probes import orchestrator_probes, shard_probes

SHARD_COMPONENT = "shard"
ORCHESTRATOR_COMPONENT = "orchestrator"
ORCHESTRATOR_NAME = "orchestrator"
# The label that names a shard on its pods and Service; scrape relabelling copies it into `shard`.
SHARD_LABEL = "themis.io/shard"
HTTP_PORT = "http"
GPU_PORT = "gpu-metrics"
HOST_PORT = "host-metrics"
CACHE_DIR = "/var/cache/themis"
ORCHESTRATOR_CONFIG_DIR = "/etc/themis"
ORCHESTRATOR_CONFIG_FILE = "orchestrator.yaml"
STORE_URL_ENV = "THEMIS_STORE_URL"


def resources(spec: Resources, gpus: int = 0) -> dict[str, Any]:
    """A container's ``resources``; GPUs go in limits only, which Kubernetes copies into requests."""
    limits: dict[str, str] = {"memory": spec.memory_limit}
    if spec.cpu_limit is not None:
        limits["cpu"] = spec.cpu_limit
    if gpus:
        limits["nvidia.com/gpu"] = str(gpus)
    return {"requests": {"cpu": spec.cpu_request, "memory": spec.memory_request}, "limits": limits}


def shard_labels(domain: str) -> dict[str, str]:
    """Labels of a shard's pods and Service."""
    return {**app_labels(SHARD_COMPONENT, f"shard-{domain}"), SHARD_LABEL: domain}


def _selector(labels: dict[str, str]) -> dict[str, str]:
    return {key: labels[key] for key in ("app.kubernetes.io/name", "app.kubernetes.io/instance")}


def _shard_container(config: DeployConfig, domain: str) -> dict[str, Any]:
    command = [
        "observatory-shard",
        "--domain",
        domain,
        "--host",
        "0.0.0.0",
        "--port",
        str(config.shard_port),
        "--cache-dir",
        CACHE_DIR,
    ]
    if config.gpu_profile is not None:
        command += ["--gpu-profile", config.gpu_profile]
    return {
        "name": "shard",
        "image": config.image,
        "command": command,
        "ports": [{"name": HTTP_PORT, "containerPort": config.shard_port}],
        **shard_probes(config.shard_port),
        "resources": resources(config.shard_resources, gpus=1 if config.gpu_profile else 0),
        "volumeMounts": [{"name": "model-cache", "mountPath": CACHE_DIR}],
    }


def _gpu_exporter(config: DeployConfig, domain: str) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": "gpu-exporter",
        "image": config.image,
        "command": ["observatory-gpu-exporter", "--shard", domain, "--port", str(config.gpu_exporter_port)],
        "ports": [{"name": GPU_PORT, "containerPort": config.gpu_exporter_port}],
        "resources": resources(config.exporter_resources),
    }
    if config.gpu_profile is not None:
        # The device plugin hands the GPU to the shard container only; the NVIDIA container runtime
        # gives this sidecar NVML access to the node's GPUs without taking a second one.
        container["env"] = [
            {"name": "NVIDIA_VISIBLE_DEVICES", "value": "all"},
            {"name": "NVIDIA_DRIVER_CAPABILITIES", "value": "utility"},
        ]
    return container


def _host_exporter(config: DeployConfig, domain: str) -> dict[str, Any]:
    return {
        "name": "host-exporter",
        "image": config.image,
        "command": [
            "observatory-host-exporter",
            "--shard",
            domain,
            "--port",
            str(config.host_exporter_port),
            "--shard-port",
            str(config.shard_port),
        ],
        "ports": [{"name": HOST_PORT, "containerPort": config.host_exporter_port}],
        "resources": resources(config.exporter_resources),
    }


def shard_deployment(config: DeployConfig, domain: str) -> dict[str, Any]:
    """One shard's Deployment: the shard with seed 000's probes, and both exporters beside it."""
    labels = shard_labels(domain)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(config.shard_service(domain), config.namespace, labels),
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": _selector(labels)},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        _shard_container(config, domain),
                        _gpu_exporter(config, domain),
                        _host_exporter(config, domain),
                    ],
                    "volumes": [{"name": "model-cache", "emptyDir": {}}],
                },
            },
        },
    }


def _service(name: str, namespace: str, labels: dict[str, str], ports: list[tuple[str, int]]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(name, namespace, labels),
        "spec": {
            "selector": _selector(labels),
            "ports": [{"name": port_name, "port": port, "targetPort": port_name} for port_name, port in ports],
        },
    }


def shard_service(config: DeployConfig, domain: str) -> dict[str, Any]:
    """The shard's Service: its API and both exporters, under the name seed 000's targets use."""
    ports = [
        (HTTP_PORT, config.shard_port),
        (GPU_PORT, config.gpu_exporter_port),
        (HOST_PORT, config.host_exporter_port),
    ]
    return _service(config.shard_service(domain), config.namespace, shard_labels(domain), ports)


def orchestrator_settings(config: DeployConfig) -> dict[str, Any]:
    """The orchestrator's configuration file: where the shards are."""
    return {
        "host": "0.0.0.0",
        "shards": {domain: f"http://{config.shard_service(domain)}:{config.shard_port}" for domain in config.domains},
    }


def orchestrator_objects(config: DeployConfig) -> list[dict[str, Any]]:
    """The orchestrator's ConfigMap, Deployment and Service; the store's URL comes from a Secret."""
    labels = app_labels(ORCHESTRATOR_COMPONENT, ORCHESTRATOR_NAME)
    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(f"{ORCHESTRATOR_NAME}-config", config.namespace, labels),
        "data": {ORCHESTRATOR_CONFIG_FILE: yaml.safe_dump(orchestrator_settings(config), sort_keys=False)},
    }
    container = {
        "name": ORCHESTRATOR_NAME,
        "image": config.image,
        "command": [
            "observatory-orchestrator",
            "--config",
            f"{ORCHESTRATOR_CONFIG_DIR}/{ORCHESTRATOR_CONFIG_FILE}",
            "--port",
            str(config.orchestrator_port),
        ],
        "env": [
            {
                "name": STORE_URL_ENV,
                "valueFrom": {"secretKeyRef": {"name": config.store_secret, "key": config.store_secret_key}},
            }
        ],
        "ports": [{"name": HTTP_PORT, "containerPort": config.orchestrator_port}],
        **orchestrator_probes(config.orchestrator_port),
        "resources": resources(config.orchestrator_resources),
        "volumeMounts": [{"name": "config", "mountPath": ORCHESTRATOR_CONFIG_DIR, "readOnly": True}],
    }
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(ORCHESTRATOR_NAME, config.namespace, labels),
        "spec": {
            "replicas": config.orchestrator_replicas,
            "selector": {"matchLabels": _selector(labels)},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [container],
                    "volumes": [{"name": "config", "configMap": {"name": config_map["metadata"]["name"]}}],
                },
            },
        },
    }
    service = _service(ORCHESTRATOR_NAME, config.namespace, labels, [(HTTP_PORT, config.orchestrator_port)])
    return [config_map, deployment, service]
