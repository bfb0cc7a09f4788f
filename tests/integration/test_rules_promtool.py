"""The generated rules and their tests under real promtool."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from observatory.artefacts import all_artefacts, write_artefacts
from observatory.config import DEFAULT_CONFIG
from support.rules import run_promtool


def test_committed_rules_pass_promtool_check(promtool: str, repo_root: Path) -> None:
    result = run_promtool(promtool, repo_root, "check", "rules", "rules/*.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(list(repo_root.glob("rules/*.yml")))


@pytest.mark.slow
def test_committed_rule_tests_pass(promtool: str, repo_root: Path) -> None:
    result = run_promtool(promtool, repo_root, "test", "rules", "rules/tests/*.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "FAILED" not in result.stdout
    # Every test file was found and run, not just none of them failing.
    assert result.stdout.count("SUCCESS") == len(list(repo_root.glob("rules/tests/*.yml"))) > 0


@pytest.mark.slow
def test_tests_generated_for_other_thresholds_pass_and_catch_the_old_rules(promtool: str, tmp_path: Path) -> None:
    thresholds = replace(DEFAULT_CONFIG.thresholds, vram_usage_ratio=0.8, kv_cache_miss_ratio=0.5)
    files = all_artefacts(replace(DEFAULT_CONFIG, thresholds=thresholds))
    write_artefacts(tmp_path, files)
    result = run_promtool(
        promtool,
        tmp_path,
        "test",
        "rules",
        "rules/tests/themis-resource-alerts.yml",
        "rules/tests/themis-inference-alerts.yml",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # The same tests against the default rules fail: they assert the changed thresholds.
    write_artefacts(tmp_path / "old", {**all_artefacts(), **{p: t for p, t in files.items() if "/tests/" in p}})
    old = run_promtool(promtool, tmp_path / "old", "test", "rules", "rules/tests/themis-resource-alerts.yml")
    assert old.returncode != 0
    assert "ThemisVRAMUsageHigh fires" in old.stdout + old.stderr
