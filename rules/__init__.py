"""Prometheus alerting and recording rules, SLOs and their promtool tests."""

from __future__ import annotations

from collections.abc import Mapping

from observatory.lint.promql import Query
from observatory.lint.report import Finding
from observatory.rules.checks import lint_groups, where
from observatory.rules.mixin import build_artefacts, rule_groups


def artefacts() -> Mapping[str, str]:
    """Generated rule files, rule tests and runbooks keyed by repository-relative path."""
    return build_artefacts()


def queries() -> list[Query]:
    """Every rule expression, with its group and rule name."""
    return [Query(where(group, rule), rule.expr) for group in rule_groups() for rule in group.rules]


def recorded_series() -> dict[str, tuple[str, ...]]:
    """Each recording rule's output name and the label names it keeps."""
    return {rule.record: rule.keeps for group in rule_groups() for rule in group.recordings}


def lint() -> tuple[list[Finding], list[tuple[str, list[str]]]]:
    """Rule-specific findings (annotations, test coverage) and informational report sections."""
    return lint_groups(rule_groups())
