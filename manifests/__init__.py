"""Deployment files generated from the definitions.

Kubernetes manifests, and plain Prometheus, Alertmanager and Grafana configuration for users without the operator.
"""

from __future__ import annotations

from observatory.manifests.config import DEFAULT_DEPLOY, DeployConfig
from observatory.manifests.layout import build_artefacts


def artefacts(config: DeployConfig = DEFAULT_DEPLOY) -> dict[str, str]:
    """Every file under deploy/, keyed by repository-relative path."""
    return build_artefacts(config)


__all__ = ["DEFAULT_DEPLOY", "DeployConfig", "artefacts"]
