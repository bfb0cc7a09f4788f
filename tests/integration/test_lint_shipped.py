"""``observatory lint`` over the shipped dashboards and rules."""

from __future__ import annotations

import subprocess
import sys

import pytest

import observatory.dashboards
from observatory.cli import main
from observatory.config import DEFAULT_CONFIG
from observatory.lint.promql import Query


def test_shipped_definitions_have_no_violation() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "observatory.cli", "lint"], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no violations" in result.stdout


def test_a_bad_dashboard_query_fails_lint_with_its_location(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = Query("dashboard 'Cluster Overview' / panel 'Broken'", "rate(themis_vram_usage_bytes[5m])")
    shipped = observatory.dashboards.queries(observatory.dashboards.dashboards(DEFAULT_CONFIG), DEFAULT_CONFIG)
    monkeypatch.setattr(observatory.dashboards, "queries", lambda suite, config: [*shipped, bad])
    assert main(["lint"]) == 1
    output = capsys.readouterr().out
    assert "dashboard 'Cluster Overview' / panel 'Broken': rate() on themis_vram_usage_bytes" in output
    assert "    rate(themis_vram_usage_bytes[5m])" in output


def test_without_the_exemptions_each_exempted_finding_fails_lint_naming_file_object_and_rule(
    tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "none.yml"
    empty.write_text("exemptions: []\n")
    assert main(["lint", "--exemptions", str(empty)]) == 1
    output = capsys.readouterr().out
    assert (
        "rules/themis-target-alerts.yml / alert 'ThemisWatchdog': [alerts/comparison] the query has no condition"
        in output
    )
    assert "dashboards/generated/llm-inference.json / panel 'Prompt Length': [target-rate-interval]" in output


def test_a_malformed_exemptions_file_is_one_line_and_exit_2(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("exemptions:\n  - rule: target-job\n    objects: ['*']\n")
    assert main(["lint", "--exemptions", str(bad)]) == 2
    error = capsys.readouterr().err
    assert error == f"observatory lint: {bad}: exemption 1 (target-job): give the reason\n"
    assert main(["lint", "--exemptions", str(tmp_path / "missing.yml")]) == 2
    assert "cannot read" in capsys.readouterr().err
