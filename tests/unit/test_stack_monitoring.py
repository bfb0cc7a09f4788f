"""The local stack's Prometheus and Alertmanager files: the deploy/ generators' output, pointed at loopback."""

from __future__ import annotations

import dataclasses
import itertools
import subprocess
from pathlib import Path

import yaml

from observatory.config import DEFAULT_CONFIG
from observatory.stack_monitoring import plan_monitoring

DOMAINS = ("legal", "finance")


def _urls() -> dict[str, str]:
    ports = itertools.count(9000)
    names = [f"{kind}-{d}" for d in DOMAINS for kind in ("shard", "host-exporter", "gpu-exporter")]
    return {name: f"http://127.0.0.1:{next(ports)}" for name in [*names, "orchestrator"]}


def _plan(tmp_path: Path, webhook_url: str | None):
    config = dataclasses.replace(DEFAULT_CONFIG, shards=DOMAINS)
    ports = itertools.count(9100)
    return plan_monitoring(config, _urls(), tmp_path, webhook_url=webhook_url, port=lambda: next(ports))


def _without(data: dict, *keys: str) -> dict:
    return {key: value for key, value in data.items() if key not in keys}


def test_prometheus_yml_is_the_deployed_one_at_loopback_addresses(tmp_path, repo_root):
    plan = _plan(tmp_path, None)
    local = yaml.safe_load((tmp_path / "prometheus.yml").read_text())
    deployed = yaml.safe_load((repo_root / "deploy/prometheus/prometheus.yml").read_text())
    # Same jobs in the same order, with the same paths and label handling; only where and how often differ.
    names = [job["job_name"] for job in deployed["scrape_configs"]]
    assert [job["job_name"] for job in local["scrape_configs"]] == names
    placement = ("static_configs", "scrape_interval", "relabel_configs")
    for mine, theirs in zip(local["scrape_configs"], deployed["scrape_configs"], strict=True):
        assert _without(mine, *placement) == _without(theirs, *placement)
    targets = {(job["job_name"], group.get("labels", {}).get("shard"), target)
               for job in local["scrape_configs"] for group in job["static_configs"] for target in group["targets"]}
    urls = _urls()
    assert {target for *_, target in targets} == {url.removeprefix("http://") for url in urls.values()}
    assert ("themisdb-shards", "finance", urls["shard-finance"].removeprefix("http://")) in targets
    assert ("node-exporter", "legal", urls["host-exporter-legal"].removeprefix("http://")) in targets
    assert local["global"] == {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"}
    assert local["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["127.0.0.1:9100"]
    assert plan.alertmanager[1] == "http://127.0.0.1:9100" and plan.prometheus[1] == "http://127.0.0.1:9101"
    # Every generated rule group, one file each, as deploy/ and rules/ carry them.
    loaded = sorted(Path(path).name for path in local["rule_files"])
    assert loaded == sorted(path.name for path in (repo_root / "rules").glob("themis-*.yml"))
    # Prometheus itself accepts the file and the rules it loads.
    checked = subprocess.run(["promtool", "check", "config", str(tmp_path / "prometheus.yml")],
                             capture_output=True, text=True)  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_alertmanager_yml_keeps_routes_and_inhibits_with_short_waits(tmp_path, repo_root):
    _plan(tmp_path, "http://127.0.0.1:5001/alerts")
    local = yaml.safe_load((tmp_path / "alertmanager.yml").read_text())
    deployed = yaml.safe_load((repo_root / "deploy/alertmanager/alertmanager.yml").read_text())
    assert local["inhibit_rules"] == deployed["inhibit_rules"]
    assert local["receivers"] == [{"name": "webhook", "webhook_configs": [
        {"url": "http://127.0.0.1:5001/alerts", "send_resolved": True}]}]  # fmt: skip
    for route in (local["route"], *local["route"]["routes"]):
        assert route["group_wait"] == "1s" and route["group_interval"] == "5s"
    assert [r["matchers"] for r in local["route"]["routes"]] == [r["matchers"] for r in deployed["route"]["routes"]]
    checked = subprocess.run(["amtool", "check-config", str(tmp_path / "alertmanager.yml")],
                             capture_output=True, text=True)  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_without_a_webhook_alerts_reach_alertmanager_and_go_nowhere(tmp_path):
    _plan(tmp_path, None)
    local = yaml.safe_load((tmp_path / "alertmanager.yml").read_text())
    assert local["receivers"] == [{"name": "webhook"}]
