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
