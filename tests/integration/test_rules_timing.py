"""Onset to page under real promtool: a smoothed alert pages ``for`` after a clean onset and still pages a flap.

Each smoothed alert fires on its raw comparison or on its mean over the smoothing window. Its generated
tests must refuse both halves alone: the mean alone (the shape that paged minutes late) fails the clean
onset case, the raw comparison alone (whose timer every good sample restarts) fails the flapping case.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from observatory.artefacts import all_artefacts, panel_linker, write_artefacts
from observatory.config import DEFAULT_CONFIG
from observatory.rules.mixin import ALERT_TESTS, rule_groups
from observatory.rules.model import Alert, Group
from observatory.rules.probes import Probe
from observatory.rules.render import rule_file
from support.rules import alert_test_tree, promtool_test_outcomes, run_promtool

# `(raw or mean) and on (...) guard`: the two halves of a smoothed alert's condition.
_SHAPE = re.compile(r"^\((?P<raw>.+?) or (?P<mean>.+avg_over_time.+?)\)(?P<rest> and on .+)$")
_FAILED = re.compile(r"^\s+name: (?P<name>[^,\n]+),$", re.M)


def _smoothed() -> list[tuple[Group, Alert]]:
    groups = rule_groups(DEFAULT_CONFIG, panel_linker(DEFAULT_CONFIG))
    return [
        (group, alert)
        for group in groups
        for alert in group.alerts
        if isinstance(alert.check, Probe) and alert.check.aggregate == "smoothed"
    ]


def _failing_cases(promtool: str, root: Path, group: Group, alert: Alert, expr: str) -> set[str]:
    """The names of the alert's generated tests that fail when its expression is ``expr``."""
    variant = replace(group, rules=tuple(replace(r, expr=expr) if r is alert else r for r in group.rules))
    test = f"{ALERT_TESTS}/{alert.name}.yml"
    write_artefacts(root, alert_test_tree(all_artefacts(DEFAULT_CONFIG), test, group.name, rule_file(variant)))
    result = run_promtool(promtool, root, "test", "rules", test)
    return {m["name"].removeprefix(f"{alert.name}: ") for m in _FAILED.finditer(result.stdout + result.stderr)}


def test_the_smoothed_alerts_are_the_seeds_flapping_signals() -> None:
    assert sorted(alert.name for _, alert in _smoothed()) == [
        "ThemisGPUDegraded",
        "ThemisGPUUtilizationLow",
        "ThemisShardDown",
    ]
    assert all(_SHAPE.match(alert.expr) for _, alert in _smoothed())


@pytest.mark.parametrize("name", ["ThemisShardDown", "ThemisGPUDegraded", "ThemisGPUUtilizationLow"])
def test_each_half_of_a_smoothed_alert_alone_fails_its_tests(promtool: str, tmp_path: Path, name: str) -> None:
    group, alert = next((group, alert) for group, alert in _smoothed() if alert.name == name)
    shape = _SHAPE.match(alert.expr)
    assert _failing_cases(promtool, tmp_path / "shipped", group, alert, alert.expr) == set()
    mean_only = _failing_cases(promtool, tmp_path / "mean", group, alert, shape["mean"] + shape["rest"])
    # Averaged before its `for`, a clean onset is still pending when `for` has elapsed.
    assert "fires once for has elapsed" in mean_only
    raw_only = _failing_cases(promtool, tmp_path / "raw", group, alert, shape["raw"] + shape["rest"])
    assert "flapping across the threshold pages on its mean" in raw_only
    assert "fires once for has elapsed" not in raw_only


@pytest.mark.slow
def test_the_timing_cases_follow_the_configured_windows_and_for(promtool: str, tmp_path: Path) -> None:
    config = replace(
        DEFAULT_CONFIG,
        # Seed 000's 30 s for ShardDown, shorter than one evaluation of the tests.
        for_durations=replace(DEFAULT_CONFIG.for_durations, shard_down="30s", gpu_degraded="3m"),
        windows=replace(DEFAULT_CONFIG.windows, smoothing="10m", startup_grace="2m", restarts="10m"),
        thresholds=replace(DEFAULT_CONFIG.thresholds, shard_restarts=4.0),
    )
    files = all_artefacts(config)
    write_artefacts(tmp_path, files)
    names = ("ThemisShardDown", "ThemisGPUDegraded", "ThemisGPUUtilizationLow", "ThemisShardCrashLooping")
    paths = [f"{ALERT_TESTS}/{name}.yml" for name in names]
    assert set(promtool_test_outcomes(promtool, tmp_path, paths).values()) == {"SUCCESS"}
    # A 30 s `for` pages at the next evaluation after the onset.
    [shard_down] = [
        r
        for r in yaml.safe_load(files["rules/themis-inference-alerts.yml"])["groups"][0]["rules"]
        if r.get("alert") == "ThemisShardDown"
    ]
    assert shard_down["for"] == "30s" and "[10m]" in shard_down["expr"] and "> 120" in shard_down["expr"]
