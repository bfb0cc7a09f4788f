"""Prometheus alerting and recording rules, SLOs and their promtool tests."""

from __future__ import annotations

from collections.abc import Mapping

from observatory.lint.promql import Query
from observatory.lint.report import Finding


def artefacts() -> Mapping[str, str]:
    """Generated rule files, rule tests and runbooks keyed by repository-relative path."""
    return {}


def queries() -> list[Query]:
    """Every rule expression, with its group and rule name."""
    return []


def recorded_series() -> dict[str, tuple[str, ...]]:
    """Each recording rule's output name and the label names it keeps."""
    return {}


def lint() -> tuple[list[Finding], list[tuple[str, list[str]]]]:
    """Rule-specific findings (annotations, test coverage) and informational report sections."""
    return [], []
