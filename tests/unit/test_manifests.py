"""What the generated deployment files say: seed 000's probes and jobs, GPUs, labels, the stack's selectors."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import yaml

from observatory import dashboards
from observatory.artefacts import dashboard_files, panel_linker
from observatory.config import DEFAULT_CONFIG, ObservatoryConfig, config_from_mapping, seconds
from observatory.exporters import gpu_exporter, host_exporter
from observatory.exporters.flags import parse_flags
from observatory.manifests.alertmanager_config import alertmanager_config
from observatory.manifests.layout import kubernetes_manifests
from observatory.manifests.prometheus_config import prometheus_config
from observatory.rules.mixin import rule_groups
from observatory.rules.model import names_in
from observatory.rules.render import rule_as_dict
from observatory.runtime.server import parse_args, settings_from

# Seed 000's Kubernetes probe settings, written out as the seed gives them.
SEED_PROBES = {
    "livenessProbe": {"httpGet": {"path": "/health", "port": 8080}, "initialDelaySeconds": 60, "periodSeconds": 10,
                      "timeoutSeconds": 5, "failureThreshold": 3},
    "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}, "initialDelaySeconds": 90, "periodSeconds": 5,
                       "timeoutSeconds": 3, "successThreshold": 1, "failureThreshold": 3},
    "startupProbe": {"httpGet": {"path": "/startup", "port": 8080}, "initialDelaySeconds": 10, "periodSeconds": 10,
                     "timeoutSeconds": 5, "failureThreshold": 30},
}  # fmt: skip


def _objects(config: ObservatoryConfig = DEFAULT_CONFIG, kind: str | None = None) -> list[dict]:
    groups = rule_groups(config, panel_linker(config))
    files = kubernetes_manifests(config, dashboard_files(config), groups)
    documents = [document for documents in files.values() for document in documents]
    return [document for document in documents if kind is None or document["kind"] == kind]


def _shard_pods(config: ObservatoryConfig = DEFAULT_CONFIG) -> dict[str, dict]:
    return {
        d["metadata"]["name"]: d["spec"]["template"]["spec"]
        for d in _objects(config, "Deployment")
        if d["metadata"]["name"].startswith("shard-")
    }


def _containers(pod: dict) -> dict[str, dict]:
    return {container["name"]: container for container in pod["containers"]}


def test_one_shard_deployment_per_domain_with_seed_000s_probes() -> None:
    pods = _shard_pods()
    assert sorted(pods) == ["shard-finance", "shard-legal", "shard-medical", "shard-technical"]
    for pod in pods.values():
        shard = _containers(pod)["shard"]
        assert {key: shard[key] for key in SEED_PROBES} == SEED_PROBES


def test_the_exporters_run_beside_each_shard_on_their_seed_ports() -> None:
    for name, pod in _shard_pods().items():
        domain = name.removeprefix("shard-")
        containers = _containers(pod)
        assert containers["gpu-exporter"]["ports"][0]["containerPort"] == 9835
        assert containers["host-exporter"]["ports"][0]["containerPort"] == 9100
        for exporter in ("gpu-exporter", "host-exporter"):
            command = containers[exporter]["command"]
            assert command[command.index("--shard") + 1] == domain


def test_a_gpu_profile_asks_for_one_gpu_in_limits_only() -> None:
    for pod in _shard_pods().values():
        containers = _containers(pod)
        assert containers["shard"]["resources"]["limits"]["nvidia.com/gpu"] == "1"
        assert "nvidia.com/gpu" not in containers["shard"]["resources"]["requests"]
        # The sidecars must not take GPUs of their own.
        assert all(
            "nvidia.com/gpu" not in containers[c]["resources"]["limits"] for c in ("gpu-exporter", "host-exporter")
        )
    cpu_only = config_from_mapping({"kubernetes": {"gpu_profile": ""}})
    text = json.dumps(_objects(cpu_only))
    assert "nvidia.com/gpu" not in text and "--gpu-profile" not in text and "NVIDIA_VISIBLE_DEVICES" not in text


def test_services_carry_the_names_seed_000s_targets_use() -> None:
    services = {s["metadata"]["name"]: s for s in _objects(kind="Service")}
    assert sorted(services) == ["orchestrator", "shard-finance", "shard-legal", "shard-medical", "shard-technical"]
    assert {p["port"] for p in services["shard-legal"]["spec"]["ports"]} == {8080, 9835, 9100}
    assert [p["port"] for p in services["orchestrator"]["spec"]["ports"]] == [8000]


def test_the_orchestrator_runs_two_replicas_with_the_store_url_from_a_secret() -> None:
    [deployment] = [d for d in _objects(kind="Deployment") if d["metadata"]["name"] == "orchestrator"]
    assert deployment["spec"]["replicas"] == 2
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert container["command"][:2] == ["observatory-orchestrator", "--config"]
    assert container["command"][-2:] == ["--port", "8000"]
    [secret] = [e["valueFrom"]["secretKeyRef"] for e in container["env"] if "valueFrom" in e]
    assert secret == {"name": "themis-store", "key": "url"}
    assert _objects(kind="Secret") == []  # a password never lands in the repository
    [config_map] = [c for c in _objects(kind="ConfigMap") if c["metadata"]["name"] == "orchestrator-config"]
    settings = yaml.safe_load(next(iter(config_map["data"].values())))
    assert settings["domains"]["legal"] == {"primary": "http://shard-legal:8080"}
    assert "store_url" not in settings


def test_every_rule_group_is_a_prometheus_rule_with_the_release_label() -> None:
    config = config_from_mapping({"kubernetes": {"release_label": "app.example.com/release", "release": "prod"}})
    rules = {r["metadata"]["name"]: r for r in _objects(config, "PrometheusRule")}
    groups = rule_groups(config, panel_linker(config))
    assert sorted(rules) == sorted(group.name for group in groups)
    for group in groups:
        spec = rules[group.name]["spec"]["groups"]
        assert spec == [{"name": group.name, "rules": [rule_as_dict(rule) for rule in group.rules]}]
    for document in [*rules.values(), *_objects(config, "ServiceMonitor")]:
        assert document["metadata"]["labels"]["app.example.com/release"] == "prod"


def test_service_monitors_scrape_the_seed_jobs_and_label_the_shard() -> None:
    monitors = {m["metadata"]["name"]: m for m in _objects(kind="ServiceMonitor")}
    assert sorted(monitors) == sorted(
        ["themisdb-shards", "themisdb-orchestrator", "node-exporter", "nvidia-gpu-exporter"]
    )
    for name, monitor in monitors.items():
        [endpoint] = monitor["spec"]["endpoints"]
        # The operator would name the job after the Service; the rules select on the seed's job names.
        assert {"targetLabel": "job", "replacement": name} in endpoint["relabelings"]
        labels_shard = any(step.get("targetLabel") == "shard" for step in endpoint["relabelings"])
        assert labels_shard == (name != "themisdb-orchestrator")
    assert monitors["themisdb-shards"]["spec"]["endpoints"][0]["interval"] == "10s"


def test_job_names_follow_the_rule_configuration() -> None:
    jobs = {"shards": "llm-shards", "orchestrator": "llm-orchestrator", "host": "host", "gpu": "gpu"}
    config = config_from_mapping({"jobs": jobs})
    names = {"llm-shards", "llm-orchestrator", "host", "gpu"}
    assert {m["metadata"]["name"] for m in _objects(config, "ServiceMonitor")} == names
    assert {job["job_name"] for job in prometheus_config(config)["scrape_configs"]} == names


def test_prometheus_yml_has_seed_000s_jobs_intervals_and_targets() -> None:
    config = prometheus_config(DEFAULT_CONFIG)
    assert config["global"] == {"scrape_interval": "15s", "scrape_timeout": "10s", "evaluation_interval": "15s"}
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs["themisdb-shards"]["scrape_interval"] == "10s"
    assert jobs["themisdb-orchestrator"]["static_configs"] == [{"targets": ["orchestrator:8000"]}]
    domains = ("legal", "finance", "medical", "technical")
    for job, port in (("themisdb-shards", 8080), ("node-exporter", 9100), ("nvidia-gpu-exporter", 9835)):
        assert jobs[job]["static_configs"] == [{"targets": [f"shard-{d}:{port}" for d in domains]}]
        assert jobs[job]["honor_labels"] is True
    assert config["alerting"]["alertmanagers"] == [{"static_configs": [{"targets": ["alertmanager:9093"]}]}]
    assert "remote_write" not in config


def test_prometheus_yml_labels_its_samples_and_alerts_with_the_configured_cluster() -> None:
    config = prometheus_config(config_from_mapping({"cluster": "eu-west", "prometheus": {
        "remote_write_urls": ["http://vm:8428/api/v1/write"]}}))  # fmt: skip
    # External labels go on what leaves the server (remote-written samples, alerts), not on its own series.
    assert config["global"]["external_labels"] == {"cluster": "eu-west"}
    assert config["remote_write"] == [{"url": "http://vm:8428/api/v1/write"}]
    assert "external_labels" not in prometheus_config(DEFAULT_CONFIG)["global"]


def test_alertmanager_yml_sends_to_the_webhook_and_inhibits_slower_burn_tiers() -> None:
    config = alertmanager_config(
        config_from_mapping({"alertmanager": {"webhook_url": "http://hooks:1234/x"}}), rule_groups(DEFAULT_CONFIG)
    )
    assert config["receivers"] == [{"name": "webhook", "webhook_configs": [{"url": "http://hooks:1234/x",
                                                                            "send_resolved": True}]}]  # fmt: skip
    tiers = [rule for rule in config["inhibit_rules"] if rule["source_matchers"][0].startswith("exhaustion=")]
    # Four tiers: every faster tier silences each slower one, per SLO and shard: 3 + 2 + 1 rules.
    assert len(tiers) == 6
    for rule in tiers:
        [fast], [slow] = rule["source_matchers"], rule["target_matchers"]
        assert seconds(fast.split('"')[1]) < seconds(slow.split('"')[1])
        assert {"slo", "shard"} <= set(rule["equal"])


def test_each_dashboard_is_a_sidecar_config_map_holding_the_generated_json(repo_root: Path) -> None:
    config = config_from_mapping({"grafana": {"folder": "LLM", "namespace": "grafana"}})
    maps = _objects(config, "ConfigMap")
    by_file = {name: m for m in maps for name in m["data"] if name.endswith(".json")}
    assert sorted(by_file) == sorted(f"{d.slug}.json" for d in dashboards.dashboards(config))
    for name, config_map in by_file.items():
        assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert config_map["metadata"]["annotations"] == {"grafana_folder": "LLM"}
        assert config_map["metadata"]["namespace"] == "grafana"
        assert config_map["data"][name] == (repo_root / "dashboards/generated" / name).read_text()


def test_rules_read_no_series_that_only_the_evaluating_prometheus_has() -> None:
    # With remote_write to Thanos, Mimir or Cortex the rules may run in their ruler: it sees what was written,
    # not the local server's own alert state or self-metrics.
    local_only = [
        (rule.name if hasattr(rule, "name") else rule.record, name)
        for group in rule_groups(DEFAULT_CONFIG)
        for rule in group.rules
        for name in names_in(rule.expr)
        if name in ("ALERTS", "ALERTS_FOR_STATE") or name.startswith(("prometheus_", "scrape_"))
    ]
    assert local_only == []


def test_each_container_command_is_accepted_by_the_component_it_runs(repo_root: Path) -> None:
    scripts = tomllib.loads((repo_root / "pyproject.toml").read_text())["project"]["scripts"]
    for name, pod in _shard_pods().items():
        domain = name.removeprefix("shard-")
        containers = _containers(pod)
        shard = containers["shard"]["command"]
        assert shard[0] in scripts
        settings = settings_from(parse_args(shard[1:]))
        assert (settings.domain, settings.host, settings.port) == (domain, "0.0.0.0", 8080)
        assert settings.gpu_profile == DEFAULT_CONFIG.kubernetes.gpu_profile
        for container, flags, port in (
            ("gpu-exporter", gpu_exporter.FLAGS, 9835),
            ("host-exporter", host_exporter.FLAGS, 9100),
        ):
            command = containers[container]["command"]
            assert command[0] in scripts
            args = parse_flags(command[0], "", flags, command[1:], {})
            assert (args.shard, args.port) == (domain, port)
