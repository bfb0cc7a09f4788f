"""The rule definitions: seed alerts, thresholds as parameters, SLO tiers, lint checks, staleness."""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from pathlib import Path

import pytest
import yaml

from observatory.artefacts import all_artefacts, panel_linker
from observatory.catalogue import CATALOGUE
from observatory.config import DEFAULT_CONFIG
from observatory.lint.promql import QueryChecker
from observatory.rules import lint, queries, recorded_series
from observatory.rules.checks import lint_groups
from observatory.rules.mixin import rule_groups
from observatory.rules.model import Group
from support.rules import SEED_ALERTS


@cache
def _shipped() -> dict[str, str]:
    """The artefacts of the default configuration, generated once for the module."""
    return all_artefacts(DEFAULT_CONFIG)


def _alerts(files: dict[str, str]) -> dict[str, dict]:
    rules = {}
    for path, text in files.items():
        if path.startswith("rules/") and not path.startswith("rules/tests/"):
            for group in yaml.safe_load(text)["groups"]:
                rules.update({rule["alert"]: rule for rule in group["rules"] if "alert" in rule})
    return rules


def _tests(files: dict[str, str]) -> dict[str, dict]:
    """Every generated promtool test by name (alert tests are named ``Alert: case``)."""
    return {
        test["name"]: test
        for path, text in files.items()
        if path.startswith("rules/tests/")
        for test in yaml.safe_load(text)["tests"]
    }


@pytest.mark.parametrize("seed_alert", sorted(SEED_ALERTS))
def test_every_seed_alert_has_a_rule_and_its_own_test_file_with_firing_and_silent_cases(seed_alert: str) -> None:
    files = _shipped()
    name = SEED_ALERTS[seed_alert]
    assert name in _alerts(files)
    own = yaml.safe_load(files[f"rules/tests/alerts/{name}.yml"])["tests"]
    checks = [check for test in own for check in test["alert_rule_test"]]
    assert all(check["alertname"] == name for check in checks)
    assert any(check["exp_alerts"] for check in checks) and any(not check["exp_alerts"] for check in checks)
    names = {test["name"].split(": ", 1)[-1] for test in own}
    assert "fires once for has elapsed" in names
    definitions = {alert.name: alert for group in rule_groups(DEFAULT_CONFIG) for alert in group.alerts}
    assert seed_alert in definitions[name].seeds


def test_seed_durations_and_severities_are_kept() -> None:
    alerts = _alerts(_shipped())
    expected = {
        "ThemisShardDown": ("30s", "critical"),
        "ThemisInferenceLatencyHigh": ("2m", "warning"),
        "ThemisVRAMUsageHigh": ("1m", "warning"),
        "ThemisGPUDegraded": ("5m", "warning"),
        "ThemisTokenGenerationLow": ("2m", "warning"),
        "ThemisKVCacheMissRateHigh": ("5m", "warning"),
        "ThemisLoRASwitchingSlow": ("2m", "warning"),
        "ThemisGPUUtilizationLow": ("10m", "info"),
    }
    for name, (duration, severity) in expected.items():
        assert (alerts[name]["for"], alerts[name]["labels"]["severity"]) == (duration, severity), name


def test_changing_one_threshold_changes_the_alert_its_test_and_its_runbook() -> None:
    default = all_artefacts(DEFAULT_CONFIG)
    lower = replace(DEFAULT_CONFIG, thresholds=replace(DEFAULT_CONFIG.thresholds, vram_usage_ratio=0.77))
    changed = all_artefacts(lower)
    assert _alerts(default)["ThemisVRAMUsageHigh"]["expr"].endswith("> 0.9")
    assert _alerts(changed)["ThemisVRAMUsageHigh"]["expr"].endswith("> 0.77")
    fires = _tests(changed)["ThemisVRAMUsageHigh fires from the raw metrics"]
    assert fires != _tests(default)["ThemisVRAMUsageHigh fires from the raw metrics"]
    assert "80.85%" in fires["alert_rule_test"][0]["exp_alerts"][0]["exp_annotations"]["description"]
    assert 'themis_vram_usage_bytes{shard="legal",gpu="0",uuid="GPU-0",job="nvidia-gpu-exporter"}' in str(
        fires["input_series"]
    )
    boundary = _tests(changed)["ThemisVRAMUsageHigh: at the threshold stays silent"]
    assert boundary["input_series"][0]["values"].split()[0] == "0.77"
    assert "above 77 %" in changed["docs/runbooks.md"] and "above 77 %" not in default["docs/runbooks.md"]
    # Nothing unrelated moved.
    assert _alerts(changed)["ThemisHostCPUHigh"] == _alerts(default)["ThemisHostCPUHigh"]


def test_a_disabled_burn_tier_has_no_alert_and_keeps_the_others() -> None:
    tiers = tuple(replace(tier, enabled=tier.long_window != "3d") for tier in DEFAULT_CONFIG.slo.tiers)
    config = replace(DEFAULT_CONFIG, slo=replace(DEFAULT_CONFIG.slo, tiers=tiers))
    alerts = _alerts(all_artefacts(config))
    assert "ThemisAvailabilityBudgetBurn3d" not in alerts
    assert alerts["ThemisAvailabilityBudgetBurn1d"]["labels"] == {
        "severity": "warning",
        "tier": "1d",
        "exhaustion": "10d",
    }
    assert alerts["ThemisLatencyBudgetBurn1h"]["labels"]["exhaustion"] == "50h"


def test_burn_alerts_use_the_workbook_pairs() -> None:
    alerts = _alerts(_shipped())
    expr = alerts["ThemisAvailabilityBudgetBurn1h"]["expr"]
    # 14.4 times the 0.1 % budget, written once as the error ratio it means.
    assert "ratio_rate1h" in expr and "ratio_rate5m" in expr and expr.count("> 0.0144") == 2
    assert "ratio_rate6h" in alerts["ThemisLatencyBudgetBurn6h"]["expr"]
    assert "ratio_rate30m" in alerts["ThemisLatencyBudgetBurn6h"]["expr"]
    assert "shard:themis_slo_error_budget_remaining:ratio" in recorded_series(DEFAULT_CONFIG)


def test_job_names_are_parameters() -> None:
    config = replace(DEFAULT_CONFIG, jobs=replace(DEFAULT_CONFIG.jobs, gpu="gpu"))
    alerts = _alerts(all_artefacts(config))
    assert alerts["ThemisGPUExporterTargetDown"]["expr"] == 'up{job="gpu"} < 1'
    assert alerts["ThemisGPUExporterTargetMissing"]["expr"] == 'absent(up{job="gpu"})'


def test_every_alert_links_its_runbook_section_and_a_dashboard_panel() -> None:
    files = _shipped()
    runbooks = files["docs/runbooks.md"]
    for name, alert in _alerts(files).items():
        annotations = alert["annotations"]
        anchor = annotations["runbook_url"].split("#", 1)[1]
        assert f"## {name}\n" in runbooks and anchor == name.lower()
        assert annotations["dashboard_url"].startswith("http://localhost:3000/d/themis-")
        assert "?viewPanel=" in annotations["dashboard_url"]


def test_shipped_rules_pass_the_query_checker_and_the_rule_checks() -> None:
    checker = QueryChecker(CATALOGUE, recorded_series(DEFAULT_CONFIG))
    assert [finding for query in queries(DEFAULT_CONFIG) for finding in checker.check(query)] == []
    findings, sections = lint(DEFAULT_CONFIG, panel_linker(DEFAULT_CONFIG))
    assert findings == []
    assert sections == [
        (
            "rule test coverage",
            [
                "alerts with generated boundary, for, missing and flapping cases: 54/56 (96 %)",
                "recording rules with an output test: 52/52 (100 %)",
            ],
        )
    ]


def test_lint_catches_a_bad_alert_and_missing_coverage() -> None:
    groups = rule_groups(DEFAULT_CONFIG)
    good = groups[-1].alerts[0]
    bad = [
        replace(good, name="ThemisNoSeverity", severity=""),
        replace(good, name="Themis" + "VeryLong" * 5),
        replace(good, name="ThemisTemplatedSummary", summary="Shard {{ $labels.shard }} is down."),
        replace(good, name="ThemisUntested", check=None, states=()),
    ]
    findings, sections = lint_groups([*groups, Group("bad", tuple(bad))])
    problems = {(finding.where, finding.problem) for finding in findings}
    assert (
        "rule group 'bad' / alert 'ThemisNoSeverity'",
        "severity '' is not one of critical, warning, info, none",
    ) in (problems)
    assert ("rule group 'bad' / alert '" + bad[1].name + "'", "alert name is longer than 40 characters") in problems
    assert (
        "rule group 'bad' / alert 'ThemisTemplatedSummary'",
        "summary is not a plain sentence (no template, capital first, full stop last)",
    ) in problems
    untested = "no generated promtool cases (a probe of its threshold or presence) and no states"
    assert ("rule group 'bad' / alert 'ThemisUntested'", untested) in problems
    assert sections[0][1][0] == "alerts with generated boundary, for, missing and flapping cases: 57/60 (95 %)"


def test_lint_limits_group_size() -> None:
    recording = rule_groups(DEFAULT_CONFIG)[0]
    findings, _ = lint_groups([replace(recording, rules=recording.rules * 2)])
    assert any(finding.problem == "more than 20 rules" for finding in findings)


def test_generation_is_byte_identical_and_committed(repo_root: Path) -> None:
    first, second = all_artefacts(DEFAULT_CONFIG), all_artefacts(DEFAULT_CONFIG)
    assert first == second
    for path, text in first.items():
        assert text.endswith("\n")
        committed = repo_root / path
        assert committed.exists(), f"{path} is not generated in the tree; run observatory generate"
        assert committed.read_text(encoding="utf-8") == text, f"{path} is stale; run observatory generate"
    generated = {p.relative_to(repo_root).as_posix() for p in repo_root.glob("rules/**/*.yml")}
    assert generated == {path for path in first if path.startswith("rules/") and path.endswith(".yml")}


def test_a_quantile_alert_runbook_names_its_own_quantile_rule() -> None:
    runbooks = _shipped()["docs/runbooks.md"]
    p95 = runbooks.split("## ThemisInferenceLatencyHigh\n", 1)[1].split("\n## ", 1)[0]
    assert "histogram_quantile(0.95, shard_le:" in p95
    assert "histogram_quantile(0.99" not in p95 and "histogram_quantile(0.5" not in p95


def test_the_runbook_says_which_alert_pages_for_a_dead_shard() -> None:
    runbooks = _shipped()["docs/runbooks.md"]
    assert "A dead shard" in runbooks and "ThemisShardTargetDown pages" in runbooks


def test_duplicates_of_a_burn_rate_page_are_inhibited_for_the_same_shard() -> None:
    inhibit = yaml.safe_load(_shipped()["docs/runbooks.md"].split("```yaml\n", 1)[1].split("```", 1)[0])
    targets = {rule["target_matchers"][0]: rule for rule in inhibit["inhibit_rules"] if "equal" in rule}
    errors = targets['alertname="ThemisInferenceErrorsCritical"']
    assert errors["source_matchers"] == ['alertname=~"ThemisAvailabilityBudgetBurn.*"', 'severity="critical"']
    # The same shard name in another cluster behind one Alertmanager is another shard.
    assert errors["equal"] == ["cluster", "shard"]
    assert all("cluster" in rule["equal"] for rule in inhibit["inhibit_rules"])
    assert 'alertname="ThemisInferenceLatencyHigh"' in targets
