"""The shard and orchestrator Deployments and Services, with the exporters as sidecars of each shard."""

from __future__ import annotations

from typing import Any

import yaml

from observatory.config import ObservatoryConfig, Resources
from observatory.config.vocabulary import STORE_URL_ENV
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
# The shard's console script: the host exporter finds the shard's process by it in the shared process namespace.
SHARD_PROGRAM = "observatory-shard"
ORCHESTRATOR_CONFIG_DIR = "/etc/themis"
ORCHESTRATOR_CONFIG_FILE = "orchestrator.yaml"


def shard_service_name(domain: str) -> str:
    """The Service (and DNS) name of a shard, as seed 000's prometheus.yml writes its targets."""
    return f"shard-{domain}"


def resources(spec: Resources, gpus: int = 0) -> dict[str, Any]:
    """A container's ``resources``; GPUs go in limits only, which Kubernetes copies into requests."""
    limits: dict[str, str] = {"memory": spec.memory_limit}
    if spec.cpu_limit:
        limits["cpu"] = spec.cpu_limit
    if gpus:
        limits["nvidia.com/gpu"] = str(gpus)
    return {"requests": {"cpu": spec.cpu_request, "memory": spec.memory_request}, "limits": limits}


def shard_labels(domain: str) -> dict[str, str]:
    """Labels of a shard's pods and Service."""
    return {**app_labels(SHARD_COMPONENT, shard_service_name(domain)), SHARD_LABEL: domain}


def _selector(labels: dict[str, str]) -> dict[str, str]:
    return {key: labels[key] for key in ("app.kubernetes.io/name", "app.kubernetes.io/instance")}


def _shard_container(config: ObservatoryConfig, domain: str) -> dict[str, Any]:
    command = [
        SHARD_PROGRAM,
        "--domain",
        domain,
        "--host",
        "0.0.0.0",
        "--port",
        str(config.ports.shard),
        "--cache-dir",
        CACHE_DIR,
    ]
    if config.kubernetes.gpu_profile:
        command += ["--gpu-profile", config.kubernetes.gpu_profile]
    return {
        "name": "shard",
        "image": config.kubernetes.image,
        "command": command,
        "ports": [{"name": HTTP_PORT, "containerPort": config.ports.shard}],
        **shard_probes(config.ports.shard),
        "resources": resources(config.kubernetes.shard_resources, gpus=1 if config.kubernetes.gpu_profile else 0),
        "volumeMounts": [{"name": "model-cache", "mountPath": CACHE_DIR}],
    }


def _gpu_exporter(config: ObservatoryConfig, domain: str) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": "gpu-exporter",
        "image": config.kubernetes.image,
        "command": ["observatory-gpu-exporter", "--shard", domain, "--port", str(config.ports.gpu_exporter)],
        "ports": [{"name": GPU_PORT, "containerPort": config.ports.gpu_exporter}],
        "resources": resources(config.kubernetes.exporter_resources),
    }
    if config.kubernetes.gpu_profile:
        # The device plugin hands the GPU to the shard container only; the NVIDIA container runtime
        # gives this sidecar NVML access to the node's GPUs without taking a second one.
        container["env"] = [
            {"name": "NVIDIA_VISIBLE_DEVICES", "value": "all"},
            {"name": "NVIDIA_DRIVER_CAPABILITIES", "value": "utility"},
        ]
    return container


def _host_exporter(config: ObservatoryConfig, domain: str) -> dict[str, Any]:
    return {
        "name": "host-exporter",
        "image": config.kubernetes.image,
        "command": [
            "observatory-host-exporter",
            "--shard",
            domain,
            "--port",
            str(config.ports.host_exporter),
            "--shard-port",
            str(config.ports.shard),
            "--shard-program",
            SHARD_PROGRAM,
        ],
        "ports": [{"name": HOST_PORT, "containerPort": config.ports.host_exporter}],
        "resources": resources(config.kubernetes.exporter_resources),
    }


def shard_deployment(config: ObservatoryConfig, domain: str) -> dict[str, Any]:
    """One shard's Deployment: the shard with seed 000's probes, and both exporters beside it."""
    labels = shard_labels(domain)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(shard_service_name(domain), config.kubernetes.namespace, labels),
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": _selector(labels)},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    # The host exporter reads the shard's CPU time and RSS, so it must see the shard's process.
                    "shareProcessNamespace": True,
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


def shard_service(config: ObservatoryConfig, domain: str) -> dict[str, Any]:
    """The shard's Service: its API and both exporters, under the name seed 000's targets use."""
    ports = [
        (HTTP_PORT, config.ports.shard),
        (GPU_PORT, config.ports.gpu_exporter),
        (HOST_PORT, config.ports.host_exporter),
    ]
    return _service(shard_service_name(domain), config.kubernetes.namespace, shard_labels(domain), ports)


def orchestrator_settings(config: ObservatoryConfig) -> dict[str, Any]:
    """The orchestrator's configuration file: each domain's shard, listening on every interface of the pod.

    The store's URL is not here: it comes from the Secret, through the environment.
    """
    shards = {
        domain: {"primary": f"http://{shard_service_name(domain)}:{config.ports.shard}"} for domain in config.shards
    }
    return {"host": "0.0.0.0", "domains": shards}


def orchestrator_objects(config: ObservatoryConfig) -> list[dict[str, Any]]:
    """The orchestrator's ConfigMap, Deployment and Service; the store's URL comes from a Secret."""
    k8s = config.kubernetes
    labels = app_labels(ORCHESTRATOR_COMPONENT, ORCHESTRATOR_NAME)
    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(f"{ORCHESTRATOR_NAME}-config", config.kubernetes.namespace, labels),
        "data": {ORCHESTRATOR_CONFIG_FILE: yaml.safe_dump(orchestrator_settings(config), sort_keys=False)},
    }
    container = {
        "name": ORCHESTRATOR_NAME,
        "image": config.kubernetes.image,
        "command": [
            "observatory-orchestrator",
            "--config",
            f"{ORCHESTRATOR_CONFIG_DIR}/{ORCHESTRATOR_CONFIG_FILE}",
            "--port",
            str(config.ports.orchestrator),
        ],
        "env": [
            {
                "name": STORE_URL_ENV,
                "valueFrom": {"secretKeyRef": {"name": k8s.store_secret, "key": k8s.store_secret_key}},
            }
        ],
        "ports": [{"name": HTTP_PORT, "containerPort": config.ports.orchestrator}],
        **orchestrator_probes(config.ports.orchestrator),
        "resources": resources(config.kubernetes.orchestrator_resources),
        "volumeMounts": [{"name": "config", "mountPath": ORCHESTRATOR_CONFIG_DIR, "readOnly": True}],
    }
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(ORCHESTRATOR_NAME, config.kubernetes.namespace, labels),
        "spec": {
            "replicas": config.kubernetes.orchestrator_replicas,
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
    service = _service(ORCHESTRATOR_NAME, config.kubernetes.namespace, labels, [(HTTP_PORT, config.ports.orchestrator)])
    return [config_map, deployment, service]
