"""promtool unit tests generated from the rule definitions' test histories.

Every alert gets a firing test (exact labels, annotations rendered as Prometheus renders them) and a
silent one; every recording rule gets a test of its output value, with a relative tolerance because
``rate`` over promtool's expanded series carries binary noise that exact comparison would trip on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from observatory.rules import templates
from observatory.rules.histories import EVAL_TIME, STEP
from observatory.rules.model import Alert, Case, Group, Recording, number
from observatory.rules.render import dump

RELATIVE_TOLERANCE = 1e-6


def _inputs(case: Case) -> list[dict[str, str]]:
    return [{"series": series.selector(), "values": series.values} for series in case.series]


def _test(name: str, case: Case, **assertions: Any) -> dict[str, Any]:
    return {"name": name, "interval": STEP, "input_series": _inputs(case), **assertions}


def _expected_alert(alert: Alert, case: Case) -> dict[str, Any]:
    series_labels = dict(case.labels)
    annotations = {key: templates.render(text, series_labels, case.value) for key, text in alert.annotations}
    labels = dict(sorted({**series_labels, **dict(alert.all_labels)}.items()))
    return {"exp_labels": labels, "exp_annotations": annotations}


def alert_tests(alert: Alert) -> list[dict[str, Any]]:
    """The alert's firing and silent tests (those it has)."""
    tests = []
    if alert.firing is not None:
        expected = [_expected_alert(alert, alert.firing)]
        check = {"eval_time": EVAL_TIME, "alertname": alert.name, "exp_alerts": expected}
        tests.append(_test(f"{alert.name} fires", alert.firing, alert_rule_test=[check]))
    if alert.silent is not None:
        check = {"eval_time": EVAL_TIME, "alertname": alert.name, "exp_alerts": []}
        tests.append(_test(f"{alert.name} stays silent", alert.silent, alert_rule_test=[check]))
    return tests


def recording_test(rule: Recording) -> list[dict[str, Any]]:
    """A test that the recorded series has the case's labels and value (within the tolerance)."""
    case = rule.case
    if case is None or case.value is None:
        return []
    matchers = ", ".join(f'{key}="{value}"' for key, value in case.labels)
    tolerance = number(max(abs(case.value) * RELATIVE_TOLERANCE, 1e-9))
    expr = f"abs({rule.record}{{{matchers}}} - {number(case.value)}) <= bool {tolerance}"
    sample = {"labels": "{" + matchers + "}", "value": 1}
    check = {"expr": expr, "eval_time": EVAL_TIME, "exp_samples": [sample]}
    labels = f"{{{matchers}}}" if matchers else ""
    return [_test(f"{rule.record}{labels} is recorded", case, promql_expr_test=[check])]


def test_file(group: Group, rule_files: Sequence[str]) -> str:
    """The promtool test file of one group; ``rule_files`` are relative to ``rules/tests/``."""
    tests: list[dict[str, Any]] = []
    for rule in group.rules:
        tests += alert_tests(rule) if isinstance(rule, Alert) else recording_test(rule)
    return dump({"rule_files": list(rule_files), "evaluation_interval": STEP, "tests": tests})
