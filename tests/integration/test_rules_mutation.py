"""Mutation test: every alert's promtool file must fail when its threshold, comparison or ``for`` is wrong.

Each mutant changes one alert in its group's rule file; only that alert's own test file is run against
it (one file per alert keeps this to a couple of minutes), all mutants in parallel promtool processes.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from observatory.artefacts import all_artefacts, write_artefacts
from observatory.config import DEFAULT_CONFIG, duration, number, seconds
from observatory.rules.mixin import ALERT_TESTS, rule_groups
from observatory.rules.model import Alert, Group
from observatory.rules.probes import Probe
from observatory.rules.render import rule_file
from support.rules import promtool_test_outcomes

# What a mutation of each kind does: a threshold 5 % off either way (one unit off a zero count),
# an inclusive comparison, a `for` four times longer (two minutes where there was none).
MOVE = 0.05


def _moved(threshold: float, direction: int) -> float:
    return threshold + direction if threshold == 0 else threshold * (1 + direction * MOVE)


def _longer(for_: str) -> str:
    return duration(seconds(for_) * 4) if seconds(for_) else "2m"


def mutants(alert: Alert) -> list[tuple[str, Alert]]:
    """The alert's mutants, each with what was changed."""
    found: list[tuple[str, Alert]] = []
    if isinstance(alert.check, Probe):
        probe = alert.check
        literal = f" {probe.op} {number(probe.threshold)}"
        assert literal in alert.expr, f"{alert.name}: threshold {literal!r} not in {alert.expr!r}"
        for label, direction in (("threshold up", 1), ("threshold down", -1)):
            moved = f" {probe.op} {number(_moved(probe.threshold, direction))}"
            found.append((label, replace(alert, expr=alert.expr.replace(literal, moved))))
        inclusive = f" {probe.op}= {number(probe.threshold)}"
        found.append(("inclusive comparison", replace(alert, expr=alert.expr.replace(literal, inclusive))))
    if alert.check is not None:
        found.append(("for four times longer", replace(alert, for_=_longer(alert.for_))))
    return found


def _mutated_group(group: Group, mutant: Alert) -> Group:
    return replace(group, rules=tuple(mutant if getattr(r, "name", None) == mutant.name else r for r in group.rules))


def test_every_alert_with_a_probe_has_every_mutant() -> None:
    alerts = [alert for group in rule_groups(DEFAULT_CONFIG) for alert in group.alerts]
    probed = [alert for alert in alerts if isinstance(alert.check, Probe)]
    assert len(probed) > 25
    assert all(len(mutants(alert)) == 4 for alert in probed)
    # Only the Watchdog, which has neither threshold nor `for`, escapes mutation.
    assert [alert.name for alert in alerts if not mutants(alert)] == ["ThemisWatchdog"]


@pytest.mark.slow
def test_every_mutant_of_every_alert_fails_its_promtool_tests(promtool: str, tmp_path: Path) -> None:
    files = all_artefacts(DEFAULT_CONFIG)
    groups = rule_groups(DEFAULT_CONFIG)
    plan: dict[str, str] = {}
    for group in groups:
        for alert in group.alerts:
            for index, (label, mutant) in enumerate(mutants(alert)):
                root = f"{alert.name}-{index}"
                test = f"{ALERT_TESTS}/{alert.name}.yml"
                # The alert's test file, the rule files it loads, and the one group file mutated.
                loads = yaml.safe_load(files[test])["rule_files"]
                tree = {test: files[test], **{f"rules/{Path(p).name}": files[f"rules/{Path(p).name}"] for p in loads}}
                tree[f"rules/{group.name}.yml"] = rule_file(_mutated_group(group, mutant))
                write_artefacts(tmp_path / root, tree)
                plan[f"{root}/{test}"] = f"{alert.name}: {label}"
    assert len(plan) > 120
    outcomes = promtool_test_outcomes(promtool, tmp_path, sorted(plan))
    assert set(outcomes) == set(plan), "promtool did not report every mutant"
    survivors = sorted(plan[path] for path, report in outcomes.items() if report == "SUCCESS")
    assert survivors == [], f"{len(survivors)} mutants pass their alert's tests: {survivors}"
