"""The one monitoring configuration and the vocabulary every generated artefact shares.

Below ``dashboards/`` and ``rules/`` (and the manifests): each takes an :class:`ObservatoryConfig` as an
argument and reads every threshold, duration, name, port, URL and price from it.
"""

from __future__ import annotations

from observatory.config.loading import ConfigError, config_as_dict, config_from_mapping, config_yaml, load_config
from observatory.config.model import (
    DEFAULT_CONFIG,
    Alertmanager,
    BurnTier,
    CostPrices,
    ForDurations,
    Goodput,
    Grafana,
    Jobs,
    Kubernetes,
    Links,
    ObservatoryConfig,
    PanelThresholds,
    Ports,
    Prometheus,
    Resources,
    Selectors,
    SLOTargets,
    Thresholds,
    Windows,
)
from observatory.config.values import duration, number, seconds

__all__ = [
    "DEFAULT_CONFIG",
    "Alertmanager",
    "BurnTier",
    "ConfigError",
    "CostPrices",
    "ForDurations",
    "Goodput",
    "Grafana",
    "Jobs",
    "Kubernetes",
    "Links",
    "ObservatoryConfig",
    "PanelThresholds",
    "Ports",
    "Prometheus",
    "Resources",
    "SLOTargets",
    "Selectors",
    "Thresholds",
    "Windows",
    "config_as_dict",
    "config_from_mapping",
    "config_yaml",
    "duration",
    "load_config",
    "number",
    "seconds",
]
