"""The field's linters as declarative rules over the generated dashboards and rule files.

Grafana's dashboard-linter, mixtool and pint cannot be installed here; their documented rules are
written again as :class:`FieldRule` objects, each with the id the field knows it by, and run over the
artefacts ``observatory generate`` writes (dashboard JSON, Prometheus rule files), so a rule applies to
every dashboard and alert, whoever defined it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from observatory.lint.promql import parse
from observatory.lint.report import Finding

DASHBOARD_FILES = "dashboards/generated/"
RULE_FILES = "rules/"


@dataclass(frozen=True)
class Problem:
    """What a rule found: in which file, on which object (panel, variable, alert), and what to change."""

    path: str
    subject: str
    change: str


@dataclass(frozen=True)
class Artefacts:
    """The generated dashboards (parsed JSON) and rule files (their groups), keyed by repository path."""

    dashboards: Mapping[str, dict[str, Any]]
    rule_files: Mapping[str, list[dict[str, Any]]]

    @classmethod
    def from_files(cls, files: Mapping[str, str]) -> Artefacts:
        """The dashboards and rule files among ``files`` (path -> text), the others ignored."""
        dashboards = {
            path: json.loads(text)
            for path, text in files.items()
            if path.startswith(DASHBOARD_FILES) and path.endswith(".json")
        }
        rule_files = {
            path: (yaml.safe_load(text) or {}).get("groups", [])
            for path, text in files.items()
            if path.startswith(RULE_FILES) and path.count("/") == 1 and path.endswith(".yml")
        }
        return cls(dashboards, rule_files)

    def panels(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Each data panel (row headers left out) with its file."""
        for path, dashboard in self.dashboards.items():
            for panel in dashboard.get("panels", []):
                if panel.get("type") != "row":
                    yield path, panel

    def targets(self) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
        """Each panel query with its file and panel."""
        for path, panel in self.panels():
            for target in panel.get("targets", []):
                yield path, panel, target

    def variables(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Each template variable with its file."""
        for path, dashboard in self.dashboards.items():
            for variable in dashboard.get("templating", {}).get("list", []):
                yield path, variable

    def rules(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Each alerting and recording rule with its file."""
        for path, groups in self.rule_files.items():
            for group in groups:
                for rule in group.get("rules", []):
                    yield path, rule

    def alerts(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Each alerting rule with its file."""
        return ((path, rule) for path, rule in self.rules() if "alert" in rule)


def panel_subject(panel: Mapping[str, Any]) -> str:
    """How a finding names a panel."""
    return f"panel {panel.get('title', '')!r}"


def rule_subject(rule: Mapping[str, Any]) -> str:
    """How a finding names an alerting or recording rule."""
    return f"alert {rule['alert']!r}" if "alert" in rule else f"record {rule.get('record', '')!r}"


def parsed(expr: str) -> object | None:
    """The syntax tree of a query (Grafana variables substituted); None when it does not parse."""
    try:
        return parse(expr)
    except ValueError:
        return None


def rule_trees(artefacts: Artefacts, alerts_only: bool = False) -> Iterator[tuple[str, dict[str, Any], object]]:
    """Each rule whose expression parses, with its file and syntax tree."""
    for path, rule in artefacts.alerts() if alerts_only else artefacts.rules():
        tree = parsed(str(rule.get("expr", "")))
        if tree is not None:
            yield path, rule, tree


Check = Callable[[Artefacts], Iterable[Problem]]


@dataclass(frozen=True)
class FieldRule:
    """One rule of a field linter: its id, the linter it comes from, what it asks for, and its check."""

    id: str
    linter: str
    requires: str
    check: Check

    def findings(self, artefacts: Artefacts) -> list[Finding]:
        """The check's problems as lint findings naming file, object, rule and the change to make."""
        return [
            Finding(f"{problem.path} / {problem.subject}", problem.change, rule=self.id)
            for problem in self.check(artefacts)
        ]
