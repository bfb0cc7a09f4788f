"""The generated deployment files, checked offline by the tools that will read them.

Core objects against Kubernetes' schemas, custom resources against the Prometheus Operator's CRDs,
the kustomization through kubectl, rules and configuration through promtool and amtool.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from observatory.artefacts import dashboard_files, panel_linker
from observatory.config import DEFAULT_CONFIG, config_from_mapping
from observatory.manifests.layout import (
    ALERTMANAGER_FILE,
    KUBERNETES_DIR,
    PROMETHEUS_FILE,
    kubernetes_manifests,
)
from observatory.manifests.prometheus_config import prometheus_config
from observatory.rules.mixin import rule_groups
from support.kubernetes import kustomize, schema_problems
from support.processes import require_binary
from support.prometheus import PrometheusServer, running_server


def _identity(document: dict) -> tuple[str, str, str | None]:
    return document["kind"], document["metadata"]["name"], document["metadata"].get("namespace")


@pytest.fixture(scope="module")
def built(repo_root: Path) -> list[dict]:
    """What `kubectl apply -k deploy/kubernetes` would send."""
    return kustomize(repo_root / KUBERNETES_DIR)


def test_kustomize_builds_every_generated_object(built: list[dict]) -> None:
    files = kubernetes_manifests(
        DEFAULT_CONFIG, dashboard_files(DEFAULT_CONFIG), rule_groups(DEFAULT_CONFIG, panel_linker(DEFAULT_CONFIG))
    )
    generated = [document for documents in files.values() for document in documents]
    assert sorted(map(_identity, built)) == sorted(map(_identity, generated))
    kinds = [document["kind"] for document in built]
    assert kinds.count("PrometheusRule") == len(rule_groups(DEFAULT_CONFIG))
    assert kinds.count("ServiceMonitor") == 4
    assert kinds.count("Deployment") == len(DEFAULT_CONFIG.shards) + 1


def test_every_object_matches_its_schema(built: list[dict]) -> None:
    problems = [problem for document in built for problem in schema_problems(document)]
    assert problems == []


def test_the_schema_checks_catch_misspelt_and_mistyped_fields(built: list[dict]) -> None:
    deployment = copy.deepcopy(next(d for d in built if d["kind"] == "Deployment"))
    probe = deployment["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]
    probe["initalDelaySeconds"] = probe.pop("initialDelaySeconds")
    [problem] = schema_problems(deployment)
    assert "initalDelaySeconds" in problem

    monitor = copy.deepcopy(next(d for d in built if d["kind"] == "ServiceMonitor"))
    monitor["spec"]["endpoints"][0]["intervall"] = "10s"
    assert schema_problems(monitor) == [f"ServiceMonitor {monitor['metadata']['name']}: unknown field"
                                        " .spec.endpoints[0].intervall"]  # fmt: skip

    rule = copy.deepcopy(next(d for d in built if d["kind"] == "PrometheusRule"))
    rule["spec"]["groups"][0]["interval"] = "every minute"
    [problem] = schema_problems(rule)
    assert "interval" in problem


def test_rule_groups_inside_the_prometheus_rules_pass_promtool(
    built: list[dict], promtool: str, tmp_path: Path
) -> None:
    files = []
    for document in built:
        if document["kind"] == "PrometheusRule":
            path = tmp_path / f"{document['metadata']['name']}.yml"
            path.write_text(yaml.safe_dump({"groups": document["spec"]["groups"]}))
            files.append(str(path))
    result = subprocess.run([promtool, "check", "rules", *files], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(files) == len(rule_groups(DEFAULT_CONFIG))


def _check_prometheus_config(promtool: str, repo_root: Path, config: Path) -> subprocess.CompletedProcess:
    # prometheus.yml loads the rule files from beside itself, as the deploy guide tells users to put them.
    rules = config.parent / "rules"
    rules.mkdir(exist_ok=True)
    for rule_file in repo_root.glob("rules/*.yml"):
        shutil.copy(rule_file, rules)
    return subprocess.run([promtool, "check", "config", str(config)], capture_output=True, text=True, timeout=120)


def test_prometheus_yml_passes_promtool_check_config(promtool: str, repo_root: Path, tmp_path: Path) -> None:
    config = tmp_path / "prometheus.yml"
    shutil.copy(repo_root / PROMETHEUS_FILE, config)
    result = _check_prometheus_config(promtool, repo_root, config)
    assert result.returncode == 0, result.stdout + result.stderr
    # promtool found and checked every rule file the config names.
    assert f"SUCCESS: {len(rule_groups(DEFAULT_CONFIG))} rule files found" in result.stdout, result.stdout


def test_remote_write_from_configuration_passes_promtool(promtool: str, repo_root: Path, tmp_path: Path) -> None:
    urls = ("http://mimir:9009/api/v1/push", "http://thanos-receive:19291/api/v1/receive")
    config = tmp_path / "prometheus.yml"
    config.write_text(
        yaml.safe_dump(prometheus_config(config_from_mapping({"prometheus": {"remote_write_urls": list(urls)}})))
    )
    assert [entry["url"] for entry in yaml.safe_load(config.read_text())["remote_write"]] == list(urls)
    result = _check_prometheus_config(promtool, repo_root, config)
    assert result.returncode == 0, result.stdout + result.stderr


def test_alertmanager_yml_passes_amtool(repo_root: Path) -> None:
    amtool = require_binary("amtool")
    result = subprocess.run(
        [amtool, "check-config", str(repo_root / ALERTMANAGER_FILE)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_amtool_rejects_a_broken_alertmanager_yml(repo_root: Path, tmp_path: Path) -> None:
    config = yaml.safe_load((repo_root / ALERTMANAGER_FILE).read_text())
    config["route"]["receiver"] = "nobody"
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config))
    result = subprocess.run([require_binary("amtool"), "check-config", str(path)], capture_output=True, text=True)
    assert result.returncode != 0


def _target_shards(server: PrometheusServer, expected: dict) -> dict:
    """(job, instance) -> shard label of every active target, once it matches ``expected`` or 30 s passed."""
    deadline = time.monotonic() + 30
    # Service discovery hands the static targets to the scrape pools a moment after start-up.
    while True:
        targets = server.api("targets", state="active")["activeTargets"]
        labels = {(t["labels"]["job"], t["labels"]["instance"]): t["labels"].get("shard") for t in targets}
        if labels == expected or time.monotonic() > deadline:
            return labels
        time.sleep(0.2)


SHARD_JOBS = (("themisdb-shards", 8080), ("node-exporter", 9100), ("nvidia-gpu-exporter", 9835))


@pytest.mark.slow
def test_prometheus_loads_the_generated_config_and_labels_every_shard_target(repo_root: Path, tmp_path: Path) -> None:
    config = yaml.safe_load((repo_root / PROMETHEUS_FILE).read_text())
    shutil.copytree(repo_root / "rules", tmp_path / "rules", ignore=shutil.ignore_patterns("tests", "*.py"))
    flags = (f"--storage.tsdb.path={tmp_path / 'tsdb'}", "--log.level=warn")
    expected = {("themisdb-orchestrator", "orchestrator:8000"): None}
    for job, port in SHARD_JOBS:
        expected |= {(job, f"shard-{domain}:{port}"): domain for domain in DEFAULT_CONFIG.shards}
    with running_server("prometheus", tmp_path, config, *flags) as (process, base):
        server = PrometheusServer(base, process)
        labels = _target_shards(server, expected)
        groups = server.api("rules")["groups"]
    assert labels == expected
    assert sorted(group["name"] for group in groups) == sorted(g.name for g in rule_groups(DEFAULT_CONFIG))


@pytest.mark.slow
def test_a_local_stack_config_labels_loopback_targets_with_their_shard(repo_root: Path, tmp_path: Path) -> None:
    ports = {(job, domain): 20000 + i for i, (job, domain) in enumerate(
        (job, domain) for job, _ in SHARD_JOBS for domain in DEFAULT_CONFIG.shards)}  # fmt: skip
    ports["themisdb-orchestrator", None] = 19999
    fast = {
        name: "1s" for name in ("scrape_interval", "scrape_timeout", "evaluation_interval", "shard_scrape_interval")
    }
    config = prometheus_config(
        config_from_mapping({"prometheus": fast}),
        locate=lambda job, domain: f"127.0.0.1:{ports[job.name, domain]}",
        rule_files=[str(path) for path in sorted(repo_root.glob("rules/*.yml"))],
    )  # fmt: skip
    expected = {(job, f"127.0.0.1:{port}"): domain for (job, domain), port in ports.items()}
    flags = (f"--storage.tsdb.path={tmp_path / 'tsdb'}", "--log.level=warn")
    with running_server("prometheus", tmp_path, config, *flags) as (process, base):
        server = PrometheusServer(base, process)
        assert _target_shards(server, expected) == expected
        assert len(server.api("rules")["groups"]) == len(rule_groups(DEFAULT_CONFIG))
