"""promtool unit tests generated from the rule definitions.

Every alert gets one test file: the cases its probe generates (boundary, ``for`` timer, two subjects,
missing series, flapping, recovery), its named field states, and the raw-metric cases, each firing
alert with exact labels and annotations rendered as Prometheus renders them. Every recording rule gets
a test of its output value, with a relative tolerance because ``rate`` over promtool's expanded series
carries binary noise that exact comparison would trip on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from observatory.config import ObservatoryConfig
from observatory.config.selectors import selected_labels, selector, source_of, target_labels
from observatory.rules import templates
from observatory.rules.histories import EVAL_TIME, STEP
from observatory.rules.model import Alert, Case, Group, Recording, Series, number, seconds
from observatory.rules.probes import Expectation, GeneratedCase, generated_cases
from observatory.rules.render import dump

RELATIVE_TOLERANCE = 1e-6

# Gives an input series the labels its component's selector selects on.
Selected = Callable[[Series], Series]


def selected_by(config: ObservatoryConfig) -> Selected:
    """Input series as the configured selectors select them: a metric's series carry its component's labels.

    ``up`` series carry the labels of the job they name; a label the history sets itself is kept.
    """
    per_job = target_labels(config)

    def select(series: Series) -> Series:
        source = source_of(series.name)
        if source is not None:
            extra = selected_labels(selector(config, source))
        elif series.name == "up":
            extra = per_job.get(dict(series.labels).get("job", ""), {})
        else:
            return series
        own = dict(series.labels)
        added = tuple((key, value) for key, value in extra.items() if key not in own)
        return Series(series.name, (*series.labels, *added), series.values)

    return select


def _inputs(case: Case, select: Selected) -> list[dict[str, str]]:
    return [{"series": select(series).selector(), "values": series.values} for series in case.series]


def _test(name: str, case: Case, select: Selected, **assertions: Any) -> dict[str, Any]:
    return {"name": name, "interval": STEP, "input_series": _inputs(case, select), **assertions}


def _expected_alert(alert: Alert, case: Case) -> dict[str, Any]:
    series_labels = dict(case.labels)
    annotations = {key: templates.render(text, series_labels, case.value) for key, text in alert.annotations}
    labels = dict(sorted({**series_labels, **dict(alert.all_labels)}.items()))
    return {"exp_labels": labels, "exp_annotations": annotations}


def _raw_tests(alert: Alert, select: Selected) -> list[dict[str, Any]]:
    """The raw-metric cases: the alert fed through the recording rules from the metrics themselves."""
    tests = []
    if alert.firing is not None:
        expected = [_expected_alert(alert, alert.firing)]
        check = {"eval_time": EVAL_TIME, "alertname": alert.name, "exp_alerts": expected}
        tests.append(_test(f"{alert.name} fires from the raw metrics", alert.firing, select, alert_rule_test=[check]))
    if alert.silent is not None:
        check = {"eval_time": EVAL_TIME, "alertname": alert.name, "exp_alerts": []}
        tests.append(
            _test(f"{alert.name} stays silent on the raw metrics", alert.silent, select, alert_rule_test=[check])
        )
    return tests


def _pending_check(alert: Alert, expectation: Expectation) -> dict[str, Any]:
    """ALERTS{alertstate="pending"} holds exactly the expected pending alerts (promtool lists only firing ones)."""
    samples = []
    for labels in expectation.pending:
        every = {"alertname": alert.name, "alertstate": "pending", **dict(alert.all_labels), **dict(labels)}
        inner = ",".join(f'{key}="{value}"' for key, value in sorted(every.items()))
        samples.append({"labels": f"ALERTS{{{inner}}}", "value": 1})
    selector = f'ALERTS{{alertname="{alert.name}", alertstate="pending"}}'
    return {"expr": selector, "eval_time": f"{expectation.at}m", "exp_samples": samples}


def _generated_test(alert: Alert, case: GeneratedCase, select: Selected) -> dict[str, Any]:
    checks, pending = [], []
    for expectation in case.expectations:
        expected = [_expected_alert(alert, Case((), value, labels)) for labels, value in expectation.firing]
        checks.append({"eval_time": f"{expectation.at}m", "alertname": alert.name, "exp_alerts": expected})
        # With a `for`, no pending alert is as much a part of the expected state as the pending ones.
        if expectation.pending or seconds(alert.for_):
            pending.append(_pending_check(alert, expectation))
    test = _test(f"{alert.name}: {case.name}", Case(case.series), select, alert_rule_test=checks)
    if pending:
        test["promql_expr_test"] = pending
    return test


def alert_tests(alert: Alert, select: Selected) -> list[dict[str, Any]]:
    """Every test of the alert: generated from its probe, its field states, and the raw-metric cases."""
    generated = generated_cases(alert.check, alert.for_) if alert.check is not None else []
    tests = [_generated_test(alert, case, select) for case in (*generated, *alert.states)]
    return tests + _raw_tests(alert, select)


def recording_test(rule: Recording, select: Selected) -> list[dict[str, Any]]:
    """Tests that the recorded series has each case's labels and value (within the tolerance)."""
    tests = []
    for name, case in ((None, rule.case), *rule.states):
        if case is not None and case.value is not None:
            tests.append(_recording_case(rule, case, name, select))
    return tests


def _recording_case(rule: Recording, case: Case, state: str | None, select: Selected) -> dict[str, Any]:
    matchers = ", ".join(f'{key}="{value}"' for key, value in case.labels)
    tolerance = number(max(abs(case.value) * RELATIVE_TOLERANCE, 1e-9))
    expr = f"abs({rule.record}{{{matchers}}} - {number(case.value)}) <= bool {tolerance}"
    sample = {"labels": "{" + matchers + "}", "value": 1}
    check = {"expr": expr, "eval_time": case.at or EVAL_TIME, "exp_samples": [sample]}
    labels = f"{{{matchers}}}" if matchers else ""
    name = f"{rule.record}{labels} is recorded" + (f" when {state}" if state else "")
    return _test(name, case, select, promql_expr_test=[check])


def recording_test_file(group: Group, rule_files: Sequence[str], select: Selected) -> str:
    """The promtool test file of a group's recording rules; ``rule_files`` are relative to its folder."""
    tests = [test for rule in group.recordings for test in recording_test(rule, select)]
    return dump({"rule_files": list(rule_files), "evaluation_interval": STEP, "tests": tests})


def alert_test_file(alert: Alert, rule_files: Sequence[str], select: Selected) -> str:
    """The promtool test file of one alert: mutating the alert breaks this file and no other."""
    return dump({"rule_files": list(rule_files), "evaluation_interval": STEP, "tests": alert_tests(alert, select)})
