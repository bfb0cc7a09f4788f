"""The six Grafana dashboards, defined in Python and rendered with grafanalib."""

from __future__ import annotations

from collections.abc import Mapping

from observatory.lint.promql import Query


def artefacts() -> Mapping[str, str]:
    """Generated dashboard JSON files keyed by repository-relative path."""
    return {}


def queries() -> list[Query]:
    """Every PromQL expression in every dashboard panel, with its location."""
    return []
