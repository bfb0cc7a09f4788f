"""Mutation test: every alert's promtool file must fail when any comparison, number or ``for`` of it is wrong.

Each mutant changes one token of one alert's expression (every comparison operator and every numeric
literal: thresholds, traffic guards, the start-up grace, burn-rate tiers, ``> 0``) or its ``for``, in its
group's rule file; only that alert's own test file is run against it (one file per alert keeps this to a
few minutes), batched into a few parallel promtool processes. Each alert's unmutated group, written the
same way, must pass: a harness that broke every copy would kill every mutant. A mutant that no test can tell from the
original is listed in ``EQUIVALENT`` with the reason; every listed one must still survive, so the list
cannot go stale.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from observatory.artefacts import all_artefacts, panel_linker, write_artefacts
from observatory.config import DEFAULT_CONFIG
from observatory.rules.mixin import ALERT_TESTS, rule_groups
from observatory.rules.model import Alert, Group
from observatory.rules.probes import Probe
from observatory.rules.render import rule_file
from support.mutants import mutants
from support.rules import alert_test_tree, promtool_test_outcomes

# Reviewed: mutants no input can tell apart from the original, each with the reason.
EQUIVALENT = {
    "ThemisShardCrashLooping: `3` #1 -> 2.85": (
        "changes() counts whole restarts: a count of at least 2.85 is a count of at least 3"
    ),
}


def _groups() -> list[Group]:
    # With the dashboard links, as the shipped files have them: their tests expect the dashboard_url.
    return rule_groups(DEFAULT_CONFIG, panel_linker(DEFAULT_CONFIG))


def _alerts() -> list[Alert]:
    return [alert for group in _groups() for alert in group.alerts]


def _mutated_group(group: Group, mutant: Alert) -> Group:
    return replace(group, rules=tuple(mutant if getattr(r, "name", None) == mutant.name else r for r in group.rules))


def test_every_comparison_and_number_of_every_alert_has_mutants() -> None:
    alerts = {alert.name: alert for alert in _alerts()}
    labels = {alert.name: [mutant.label for mutant in mutants(alert)] for alert in alerts.values()}
    assert len([alert for alert in alerts.values() if isinstance(alert.check, Probe)]) > 25
    # The survivors are among the mutants: a guard moved, a short window made inclusive, a `> 0` moved.
    assert "ThemisAvailabilityBudgetBurn1h: `0.2` #1 -> 0.21" in labels["ThemisAvailabilityBudgetBurn1h"]
    assert "ThemisUptimeBudgetBurn1h: `>` #2 -> >=" in labels["ThemisUptimeBudgetBurn1h"]
    assert "ThemisOrchestratorFailingOver: `0` #1 -> 1" in labels["ThemisOrchestratorFailingOver"]
    # Every comparison and literal of the shard-down rule: its raw and smoothed floors and its grace.
    assert len(labels["ThemisShardDown"]) == 3 * 3 + 1
    # The Watchdog has no comparison but a literal and a `for` to break.
    assert labels["ThemisWatchdog"] == [
        "ThemisWatchdog: `1` #1 -> 1.05",
        "ThemisWatchdog: `1` #1 -> 0.95",
        "ThemisWatchdog: for 0s -> 2m",
    ]
    every = {label for found in labels.values() for label in found}
    assert set(EQUIVALENT) <= every, "an equivalent mutant that is no longer made"


@pytest.mark.slow
def test_every_mutant_of_every_alert_fails_its_promtool_tests(promtool: str, tmp_path: Path) -> None:
    files = all_artefacts(DEFAULT_CONFIG)
    plan: dict[str, str] = {}
    controls: list[str] = []
    for group in _groups():
        for alert in group.alerts:
            test = f"{ALERT_TESTS}/{alert.name}.yml"
            write_artefacts(tmp_path / alert.name, alert_test_tree(files, test, group.name, rule_file(group)))
            controls.append(f"{alert.name}/{test}")
            for index, mutant in enumerate(mutants(alert)):
                root = f"{alert.name}-{index}"
                mutated = rule_file(_mutated_group(group, mutant.alert))
                write_artefacts(tmp_path / root, alert_test_tree(files, test, group.name, mutated))
                plan[f"{root}/{test}"] = mutant.label
    assert len(plan) > 250
    outcomes = promtool_test_outcomes(promtool, tmp_path, sorted([*plan, *controls]))
    assert set(outcomes) == {*plan, *controls}, "promtool did not report every mutant"
    assert {path: outcomes[path] for path in controls if outcomes[path] != "SUCCESS"} == {}, "unmutated rules fail"
    survivors = {plan[path] for path, report in outcomes.items() if path in plan and report == "SUCCESS"}
    unexplained = sorted(survivors - set(EQUIVALENT))
    assert unexplained == [], f"{len(unexplained)} mutants pass their alert's tests: {unexplained}"
    assert sorted(set(EQUIVALENT) - survivors) == [], "listed as equivalent but killed: take it off the list"
