"""Offline checks of Kubernetes objects: core kinds against Kubernetes' schemas, operator kinds against its CRDs."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import cloudcoil.models.prometheus_operator.v1 as operator_crds
import kubernetes_validate
import pydantic
import yaml

from support.dashboards import unknown_fields
from support.processes import require_binary

# The newest Kubernetes release kubernetes-validate ships schemas for.
KUBERNETES_VERSION = kubernetes_validate.latest_version()
OPERATOR_GROUP = "monitoring.coreos.com/"


def schema_problems(document: dict[str, Any]) -> list[str]:
    """What is wrong with one object; empty when it matches its schema.

    Core kinds are checked strictly (unknown fields are errors). Prometheus Operator kinds are
    decoded by models generated from the operator's CRD schemas; a field the model drops on the way
    back out is one the CRD does not have.
    """
    where = f"{document.get('kind')} {document.get('metadata', {}).get('name')}"
    if str(document.get("apiVersion", "")).startswith(OPERATOR_GROUP):
        try:
            model = getattr(operator_crds, document["kind"]).model_validate(document)
        except pydantic.ValidationError as error:
            return [f"{where}: {' '.join(str(error).split())}"]
        decoded = model.model_dump(by_alias=True, exclude_unset=True, mode="json")
        return [f"{where}: unknown field {path}" for path in unknown_fields(document, decoded)]
    try:
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as error:
        return [f"{where}: {error.message} at {'/'.join(map(str, error.absolute_path))}"]
    return []


def kustomize(directory: Path) -> list[dict[str, Any]]:
    """The objects ``kubectl kustomize`` builds from ``directory``; fails with kubectl's error."""
    result = subprocess.run(
        [require_binary("kubectl"), "kustomize", str(directory)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return [document for document in yaml.safe_load_all(result.stdout) if document]
