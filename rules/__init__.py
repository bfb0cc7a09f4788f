"""Prometheus alerting and recording rules, SLOs and their promtool tests."""

from __future__ import annotations

from collections.abc import Mapping

from observatory.config import ObservatoryConfig
from observatory.lint.promql import Query
from observatory.lint.report import Finding
from observatory.rules.checks import lint_groups, where
from observatory.rules.links import PanelLink
from observatory.rules.mixin import build_artefacts, rule_groups

__all__ = ["PanelLink", "artefacts", "lint", "queries", "recorded_series"]


def artefacts(config: ObservatoryConfig, panel_link: PanelLink) -> Mapping[str, str]:
    """Generated rule files, rule tests and runbooks keyed by repository-relative path."""
    return build_artefacts(config, panel_link)


def queries(config: ObservatoryConfig) -> list[Query]:
    """Every rule expression, with its group and rule name."""
    return [Query(where(group, rule), rule.expr) for group in rule_groups(config) for rule in group.rules]


def recorded_series(config: ObservatoryConfig) -> dict[str, tuple[str, ...]]:
    """Each recording rule's output name and the label names it keeps."""
    return {rule.record: rule.keeps for group in rule_groups(config) for rule in group.recordings}


def lint(config: ObservatoryConfig, panel_link: PanelLink) -> tuple[list[Finding], list[tuple[str, list[str]]]]:
    """Rule-specific findings (annotations, test coverage) and informational report sections."""
    return lint_groups(rule_groups(config, panel_link))
