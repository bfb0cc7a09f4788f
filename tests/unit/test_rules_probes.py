"""The generated promtool cases: clean-onset timing read back from the inputs, condition boundaries, short ``for``."""

from __future__ import annotations

import math
import operator

import pytest
import yaml

from observatory.artefacts import all_artefacts
from observatory.config import DEFAULT_CONFIG, seconds
from observatory.rules.histories import SHARDS, level, signal
from observatory.rules.mixin import ALERT_TESTS, rule_groups
from observatory.rules.probes import Condition, Probe, generated_cases
from observatory.rules.runbooks import onset_to_page

SMOOTHED = {
    # alert: (probed series, breaching when, its `for`)
    "ThemisShardDown": ("themis_shard_health_status", lambda v: v < 0.5, "30s"),  # seed 000: Duration 30s
    "ThemisGPUDegraded": ("themis_gpu_utilization_ratio", lambda v: v < 0.2, "5m"),
    "ThemisGPUUtilizationLow": ("themis_gpu_utilization_ratio", lambda v: v < 0.4, "10m"),
}


def _tests(alert: str) -> dict[str, dict]:
    document = yaml.safe_load(all_artefacts(DEFAULT_CONFIG)[f"{ALERT_TESTS}/{alert}.yml"])
    return {test["name"].removeprefix(f"{alert}: "): test for test in document["tests"]}


def _probed(test: dict, series: str) -> list[float]:
    [values] = [s["values"] for s in test["input_series"] if s["series"].startswith(series + "{")]
    return [float(v) for v in values.split()]


def _minutes(eval_time: str) -> int:
    return int(seconds(eval_time) // 60)


@pytest.mark.parametrize("alert", sorted(SMOOTHED))
def test_a_clean_onset_pages_exactly_for_after_it(alert: str) -> None:
    series, breaching, for_ = SMOOTHED[alert]
    tests = _tests(alert)
    for name in ("pending until for has elapsed", "fires once for has elapsed"):
        values = _probed(tests[name], series)
        onset = next(i for i, v in enumerate(values) if breaching(v))
        # Steady good before the onset, steady bad after it: a clean onset.
        assert not any(breaching(v) for v in values[:onset]) and all(breaching(v) for v in values[onset:])
        [check] = tests[name]["alert_rule_test"]
        paged = bool(check["exp_alerts"])
        # Samples come a minute apart: it fires at the first one at least `for` after the onset.
        assert _minutes(check["eval_time"]) == onset + math.ceil(seconds(for_) / 60) - (0 if paged else 1)
        assert paged == (name == "fires once for has elapsed")
    [pending] = tests["pending until for has elapsed"]["promql_expr_test"]
    assert len(pending["exp_samples"]) == 1


@pytest.mark.parametrize("alert", sorted(SMOOTHED))
def test_a_signal_flapping_across_the_threshold_pages(alert: str) -> None:
    series, breaching, _ = SMOOTHED[alert]
    test = _tests(alert)["flapping across the threshold pages on its mean"]
    values = _probed(test, series)
    # Every other sample on the good side: the raw comparison alone would never hold for its `for`.
    assert [breaching(v) for v in values] == [i % 2 == 0 for i in range(len(values))]
    [check] = test["alert_rule_test"]
    assert check["exp_alerts"] and _minutes(check["eval_time"]) == len(values) - 1


@pytest.mark.parametrize("op", [">", ">=", "<", "<=", "=="])
def test_a_condition_boundary_pair_straddles_the_comparison(op: str) -> None:
    condition = Condition("guard", level("guard"), op, 0.2, held=1.0)
    at, across = condition.boundary()
    compare = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le, "==": operator.eq}[op]
    assert at == 0.2
    assert compare(at, 0.2) != compare(across, 0.2)
    # One step: 1 % of the threshold unless the condition names its own.
    assert abs(across - at) == pytest.approx(0.002)


def test_a_condition_clock_grows_one_second_per_second() -> None:
    grace = Condition("age", level("age"), ">", 300, held=86_400, clock=True)
    assert grace.profile(303, 3) == [183, 243, 303]


def test_the_traffic_guard_is_tested_just_below_and_at_its_bound() -> None:
    tests = _tests("ThemisAvailabilityBudgetBurn1h")
    at, below = tests["requests per second at 0.2"], tests["requests per second at 0.198"]
    assert at["alert_rule_test"][0]["exp_alerts"] and not below["alert_rule_test"][0]["exp_alerts"]


def test_a_for_shorter_than_the_evaluation_interval_waits_one_evaluation() -> None:
    probe = Probe(signal("themis_queue_depth"), ">", 1.0, SHARDS)
    cases = {case.name: case for case in generated_cases(probe, "30s")}
    pending, firing = cases["pending until for has elapsed"], cases["fires once for has elapsed"]
    assert firing.expectations[0].at == pending.expectations[0].at + 1
    assert pending.expectations[0].pending and firing.expectations[0].firing


def test_the_runbooks_state_onset_to_page_for_every_alert() -> None:
    runbooks = all_artefacts(DEFAULT_CONFIG)["docs/runbooks.md"]
    sections = runbooks.split("\n## ")[1:]
    alerts = [section for section in sections if section.startswith("Themis")]
    assert len(alerts) > 50
    assert all("**Onset to page.** " in section for section in alerts)
    shipped = {alert.name: alert for group in rule_groups(DEFAULT_CONFIG) for alert in group.alerts}
    for name, (_, _, for_) in SMOOTHED.items():
        assert f"pages {for_} after it" in onset_to_page(shipped[name])
