"""Deployment files generated from the definitions.

Kubernetes manifests, and plain Prometheus, Alertmanager and Grafana configuration for users without the operator.
"""

from __future__ import annotations

from collections.abc import Mapping

from observatory.config import ObservatoryConfig
from observatory.manifests.layout import build_artefacts
from observatory.rules import PanelLink
from observatory.rules.mixin import rule_groups


def artefacts(config: ObservatoryConfig, dashboard_files: Mapping[str, str], panel_link: PanelLink) -> dict[str, str]:
    """Every file under deploy/ for ``config``, the generated dashboard files and the rules linked by ``panel_link``."""
    return build_artefacts(config, dashboard_files, rule_groups(config, panel_link))


__all__ = ["artefacts"]
