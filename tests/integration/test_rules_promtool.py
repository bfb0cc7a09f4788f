"""The generated rules and their tests under real promtool."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from observatory.artefacts import all_artefacts, write_artefacts
from observatory.config import DEFAULT_CONFIG
from support.rules import promtool_test_outcomes, run_promtool


def test_committed_rules_pass_promtool_check(promtool: str, repo_root: Path) -> None:
    result = run_promtool(promtool, repo_root, "check", "rules", "rules/*.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(list(repo_root.glob("rules/*.yml")))


@pytest.mark.slow
def test_committed_rule_tests_pass(promtool: str, repo_root: Path) -> None:
    paths = sorted(p.relative_to(repo_root).as_posix() for p in repo_root.glob("rules/tests/**/*.yml"))
    outcomes = promtool_test_outcomes(promtool, repo_root, paths)
    # Every test file was found and run, not just none of them failing.
    assert set(outcomes) == set(paths) and len(paths) > 40
    failed = {path: report for path, report in outcomes.items() if report != "SUCCESS"}
    assert not failed, failed


@pytest.mark.slow
def test_tests_generated_for_other_thresholds_pass_and_catch_the_old_rules(promtool: str, tmp_path: Path) -> None:
    thresholds = replace(DEFAULT_CONFIG.thresholds, vram_usage_ratio=0.8, kv_cache_miss_ratio=0.5)
    files = all_artefacts(replace(DEFAULT_CONFIG, thresholds=thresholds))
    write_artefacts(tmp_path, files)
    changed = ["rules/tests/alerts/ThemisVRAMUsageHigh.yml", "rules/tests/alerts/ThemisKVCacheMissRateHigh.yml"]
    assert set(promtool_test_outcomes(promtool, tmp_path, changed).values()) == {"SUCCESS"}
    # The same tests against the default rules fail: they assert the changed thresholds.
    write_artefacts(tmp_path / "old", {**all_artefacts(), **{p: t for p, t in files.items() if "/tests/" in p}})
    old = promtool_test_outcomes(promtool, tmp_path / "old", changed)
    assert all("FAILED" in report for report in old.values()) and len(old) == 2
    assert "ThemisVRAMUsageHigh: just beyond the threshold fires" in old[changed[0]]


@pytest.mark.slow
def test_tests_generated_for_namespaced_selectors_pass(promtool: str, tmp_path: Path) -> None:
    selectors = replace(
        DEFAULT_CONFIG.selectors,
        shards='job="themisdb-shards", namespace="ai"',
        gpu='job="nvidia-gpu-exporter", namespace=~"ai|ml"',
    )
    files = all_artefacts(replace(DEFAULT_CONFIG, selectors=selectors))
    write_artefacts(tmp_path, files)
    paths = sorted(path for path in files if path.startswith("rules/tests/"))
    outcomes = promtool_test_outcomes(promtool, tmp_path, paths)
    assert set(outcomes) == set(paths) and len(paths) > 40
    failed = {path: report for path, report in outcomes.items() if report != "SUCCESS"}
    assert not failed, failed
    # Inputs from another namespace leave the namespaced rules empty: the selector filters what they read.
    other = replace(selectors, shards='job="themisdb-shards", namespace="ml"')
    foreign = all_artefacts(replace(DEFAULT_CONFIG, selectors=other))
    write_artefacts(tmp_path / "foreign", {**foreign, **{p: t for p, t in files.items() if "/tests/" not in p}})
    recording = ["rules/tests/themis-recording.yml"]
    assert "FAILED" in promtool_test_outcomes(promtool, tmp_path / "foreign", recording)[recording[0]]
