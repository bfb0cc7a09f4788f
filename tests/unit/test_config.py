"""The one configuration: YAML overrides, one-line errors naming the key, and the layering below both users."""

from __future__ import annotations

import ast
import subprocess
import sys
from dataclasses import fields, replace
from pathlib import Path

import pytest
import yaml

from observatory.artefacts import all_artefacts
from observatory.config import (
    DEFAULT_CONFIG,
    BurnTier,
    ConfigError,
    PanelThresholds,
    config_from_mapping,
    config_yaml,
    load_config,
)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "observatory.cli", *args], capture_output=True, text=True, timeout=120)


def test_the_default_file_reads_back_to_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "observatory.yml"
    path.write_text(config_yaml(), encoding="utf-8")
    assert load_config(path) == DEFAULT_CONFIG
    data = yaml.safe_load(config_yaml())
    assert data["ports"] == {"shard": 8080, "orchestrator": 8000, "gpu_exporter": 9835, "host_exporter": 9100}
    assert data["kubernetes"]["release"] == "kube-prometheus-stack"
    assert data["slo"]["tiers"][0] == {
        "long_window": "1h",
        "short_window": "5m",
        "factor": 14.4,
        "severity": "critical",
        "enabled": True,
    }


def test_a_key_overrides_its_field_and_nothing_else() -> None:
    config = config_from_mapping({"thresholds": {"vram_usage_ratio": 0.8}, "cluster": "eu-1"})
    assert config == replace(
        DEFAULT_CONFIG, thresholds=replace(DEFAULT_CONFIG.thresholds, vram_usage_ratio=0.8), cluster="eu-1"
    )


def test_an_empty_file_means_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "empty.yml"
    path.write_text("# nothing to change\n", encoding="utf-8")
    assert load_config(path) == DEFAULT_CONFIG


def test_lists_of_values_and_whole_numbers_read_from_a_file() -> None:
    config = config_from_mapping(
        {"shards": ["legal", "tax"], "kubernetes": {"orchestrator_replicas": 3},
         "prometheus": {"remote_write_urls": ["https://mimir.example.com/api/v1/push"]}}
    )  # fmt: skip
    assert config.shards == ("legal", "tax")
    assert config.kubernetes.orchestrator_replicas == 3
    assert config.prometheus.remote_write_urls == ("https://mimir.example.com/api/v1/push",)


def test_a_tier_list_replaces_the_default_tiers() -> None:
    config = config_from_mapping(
        {"slo": {"tiers": [{"long_window": "2h", "short_window": "10m", "factor": 10, "severity": "warning"}]}}
    )
    assert config.slo.tiers == (BurnTier("2h", "10m", 10.0, "warning"),)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"threshold": {}}, "threshold: unknown key"),
        ({"thresholds": {"vram_usage": 0.8}}, "thresholds.vram_usage: unknown key"),
        ({"thresholds": {"vram_usage_ratio": 1.5}}, "thresholds.vram_usage_ratio: expected a ratio between 0 and 1"),
        ({"thresholds": {"latency_p95_seconds": "2s"}}, "thresholds.latency_p95_seconds: expected a number"),
        ({"thresholds": {"latency_p95_seconds": True}}, "thresholds.latency_p95_seconds: expected a number"),
        ({"thresholds": {"latency_p95_seconds": float("nan")}}, "thresholds.latency_p95_seconds: expected a finite"),
        ({"thresholds": {"latency_p95_seconds": -1}}, "thresholds.latency_p95_seconds: expected a finite"),
        ({"for_durations": {"shard_down": "5 minutes"}}, "for_durations.shard_down: duration '5 minutes' is not"),
        ({"ports": {"shard": 70000}}, "ports.shard: expected a port number"),
        ({"links": {"grafana_url": "grafana:3000"}}, "links.grafana_url: expected an absolute http(s) URL"),
        ({"links": {"runbook_url": "https://x/"}}, "links.runbook_url: expected an absolute http(s) URL"),
        ({"jobs": {"gpu": 5}}, "jobs.gpu: expected a string"),
        ({"jobs": "gpu"}, "jobs: expected a mapping"),
        ({"slo": {"tiers": {"long_window": "1h"}}}, "slo.tiers: expected a list"),
        ({"slo": {"tiers": [{"long_window": "1h"}]}}, "slo.tiers[0]: missing short_window, factor, severity"),
        (
            {"slo": {"tiers": [{"long_window": "1h", "short_window": "5m", "factor": 2, "severity": "page"}]}},
            "slo.tiers[0].severity: expected one of critical, warning, info",
        ),
        ({"slo": {"period": "60d"}}, "slo.period: 60d is longer than prometheus.retention 35d"),
        ({"shards": ["legal", 7]}, "shards[1]: expected a string"),
        ({"prometheus": {"remote_write_urls": ["mimir:9009"]}}, "prometheus.remote_write_urls[0]: expected an"),
        ({"prometheus": {"shard_scrape_interval": "5s"}}, "prometheus.shard_scrape_interval: shorter than"),
        ({"kubernetes": {"orchestrator_replicas": 1.5}}, "kubernetes.orchestrator_replicas: expected a whole number"),
        ({"kubernetes": {"shard_resources": {"cpu_request": 2}}}, "kubernetes.shard_resources.cpu_request: expected a"),
        ([1, 2], "the file: expected a mapping"),
    ],
)
def test_bad_keys_and_values_are_one_line_naming_the_key(data: object, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config_from_mapping(data)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_config_defaults_prints_the_whole_default_file() -> None:
    result = _cli("config", "--defaults")
    assert result.returncode == 0, result.stderr
    assert result.stdout == config_yaml(DEFAULT_CONFIG)


def test_a_bad_config_file_is_exit_2_and_one_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yml"
    path.write_text("thresholds:\n  vram_usage_ratio: high\n", encoding="utf-8")
    for command in (("generate", "--out", str(tmp_path / "out")), ("config",), ("lint",)):
        result = _cli(*command, "--config", str(path))
        assert result.returncode == 2, command
        assert result.stderr.count("\n") == 1
        assert "thresholds.vram_usage_ratio: expected a number" in result.stderr
        assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [("a: [1\n", "is not valid YAML at line 2"), (None, "cannot read")],
)
def test_unreadable_or_broken_files_are_one_line(tmp_path: Path, text: str | None, message: str) -> None:
    path = tmp_path / "config.yml"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    result = _cli("config", "--config", str(path))
    assert result.returncode == 2
    assert message in result.stderr and result.stderr.count("\n") == 1


def test_a_threshold_no_generator_can_use_is_refused_naming_the_key(tmp_path: Path) -> None:
    path = tmp_path / "slo.yml"
    path.write_text("slo:\n  latency_threshold_seconds: 1.7\n", encoding="utf-8")
    result = _cli("generate", "--config", str(path), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "slo.latency_threshold_seconds: 1.7 is not a bucket bound" in result.stderr
    assert result.stderr.count("\n") == 1


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize(("folder", "other"), [("dashboards", "rules"), ("rules", "dashboards")])
def test_dashboards_and_rules_do_not_import_each_other(repo_root: Path, folder: str, other: str) -> None:
    for path in sorted((repo_root / folder).glob("*.py")):
        crossing = {name for name in _imports(path) if name.startswith(f"observatory.{other}")}
        assert not crossing, f"{path.name} imports {crossing}"


def test_the_configuration_imports_neither(repo_root: Path) -> None:
    for path in sorted((repo_root / "observatory" / "config").glob("*.py")):
        assert not {n for n in _imports(path) if n.startswith(("observatory.rules", "observatory.dashboards"))}


def _generated(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): p.read_text(encoding="utf-8") for p in root.rglob("*") if p.is_file()}


def test_one_threshold_in_a_file_changes_the_alert_its_test_its_runbook_and_its_panel(tmp_path: Path) -> None:
    path = tmp_path / "my.yml"
    path.write_text("thresholds:\n  vram_usage_ratio: 0.8\n", encoding="utf-8")
    for name, extra in (("default", ()), ("mine", ("--config", str(path)))):
        result = _cli("generate", "--out", str(tmp_path / name), *extra)
        assert result.returncode == 0, result.stderr
    default, mine = _generated(tmp_path / "default"), _generated(tmp_path / "mine")
    changed = {p for p in default if default[p] != mine[p]}
    assert changed == {
        "rules/themis-resource-alerts.yml",
        "rules/tests/alerts/ThemisVRAMUsageHigh.yml",
        "docs/runbooks.md",
        "dashboards/generated/cluster-overview.json",
        # The same rule group and dashboard as the operator's PrometheusRule and Grafana's ConfigMap.
        "deploy/kubernetes/monitoring/rules/themis-resource-alerts.yaml",
        "deploy/kubernetes/dashboards/cluster-overview.yaml",
    }
    alerts = {r["alert"]: r for r in yaml.safe_load(mine["rules/themis-resource-alerts.yml"])["groups"][0]["rules"]}
    assert alerts["ThemisVRAMUsageHigh"]["expr"].endswith("> 0.8")
    assert "above 80 %" in alerts["ThemisVRAMUsageHigh"]["annotations"]["description"]
    runbook = mine["docs/runbooks.md"].split("## ThemisVRAMUsageHigh", 1)[1].split("\n## ", 1)[0]
    assert "above 80 % of the GPU's memory" in runbook and "> 0.8" in runbook

    def vram_tests(files: dict[str, str]) -> list[dict]:
        return yaml.safe_load(files["rules/tests/alerts/ThemisVRAMUsageHigh.yml"])["tests"]

    assert vram_tests(mine) and vram_tests(mine) != vram_tests(default)
    panel = next(
        p
        for p in yaml.safe_load(mine["dashboards/generated/cluster-overview.json"])["panels"]
        if p["title"] == "Memory Usage (RAM + VRAM)"
    )
    assert [step.get("value") for step in panel["fieldConfig"]["defaults"]["thresholds"]["steps"]][-1] == 0.8
    assert "red above 80 % (the VRAM alert)" in panel["description"]


def test_a_cluster_label_reaches_every_alert_and_its_tests() -> None:
    files = all_artefacts(config_from_mapping({"cluster": "eu-1", "links": {"grafana_url": "https://g.example"}}))
    for path, text in files.items():
        if path.startswith("rules/themis-"):
            for rule in yaml.safe_load(text)["groups"][0]["rules"]:
                if "alert" in rule:
                    assert rule["labels"]["cluster"] == "eu-1", rule["alert"]
                    assert rule["annotations"]["dashboard_url"].startswith("https://g.example/d/")
    fires = yaml.safe_load(files["rules/tests/alerts/ThemisShardDown.yml"])["tests"][1]["alert_rule_test"][0]
    assert fires["exp_alerts"][0]["exp_labels"]["cluster"] == "eu-1"


@pytest.mark.parametrize("name", [field.name for field in fields(PanelThresholds)])
def test_every_panel_threshold_of_the_configuration_changes_a_dashboard(name: str) -> None:
    # A setting that changes nothing lets a user's override vanish without a word.
    from observatory import dashboards

    value = getattr(DEFAULT_CONFIG.panels, name)
    changed = replace(DEFAULT_CONFIG, panels=replace(DEFAULT_CONFIG.panels, **{name: type(value)(value * 0.5 + 0.01)}))
    assert dashboards.dashboards(changed) != dashboards.dashboards(DEFAULT_CONFIG)
