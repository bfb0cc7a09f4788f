"""Shard naming, the failover order, settings errors and the orchestrator's metrics."""

from __future__ import annotations

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from observatory.catalogue import CATALOGUE
from observatory.config import DEFAULT_CONFIG
from observatory.manifests.workloads import orchestrator_objects
from observatory.metric import Source
from observatory.orchestrator.metrics import OrchestratorMetrics, complexity_class, depth_class
from observatory.orchestrator.settings import OrchestratorSettings, load_settings
from observatory.orchestrator.shards import ShardRef, failover_order, shard_names
from observatory.runtime.settings import SettingsError


def _settings(**domains) -> OrchestratorSettings:
    return OrchestratorSettings(domains=domains)


def test_primaries_are_named_by_domain_and_other_backups_by_position():
    settings = _settings(
        legal={"primary": "http://127.0.0.1:1", "backups": ["http://127.0.0.1:2", "http://127.0.0.1:9"]},
        finance={"primary": "http://127.0.0.1:2"},
    )
    names = shard_names(settings)
    assert names["legal"].url == "http://127.0.0.1:1"
    assert names["finance"].url == "http://127.0.0.1:2"  # legal's first backup is finance's primary
    assert names["legal-backup-2"] == ShardRef("legal-backup-2", "http://127.0.0.1:9", None)
    assert len(names) == 3


def test_failover_order_puts_own_shards_first_and_failed_ones_last():
    a, b, c, d = (ShardRef(name, f"http://{name}", None) for name in "abcd")
    assert [s.name for s in failover_order([a, b], [c, a, d], set())] == ["a", "b", "c", "d"]
    assert [s.name for s in failover_order([a, b], [c, a, d], {"a", "c"})] == ["b", "d", "a", "c"]
    assert failover_order([], [], {"a"}) == []


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ("domains: {}", "domains"),
        ("domains: {legal: {primary: nota-url}}", "domains.legal.primary"),
        ("domains: {Legal: {primary: 'http://h:1'}}", "domains"),
        ("domains: {orchestrator: {primary: 'http://h:1'}}", "domains"),
        ("domains: {a: {primary: 'http://h:1'}, b: {primary: 'http://h:1'}}", "domains.b.primary"),
        ("domains: {a: {primary: 'http://h:1'}}\nanalysis_types: {ip: nowhere}", "analysis_types.ip"),
        ("domains: {a: {primary: 'http://h:1'}}\ntimeouts: {inference: 0}", "timeouts.inference"),
        ("domains: {a: {primary: 'http://h:1'}}\nsurprise: 1", "surprise"),
    ],
)
def test_bad_config_is_one_line_naming_the_field(tmp_path, config, field):
    path = tmp_path / "orchestrator.yml"
    path.write_text(config)
    with pytest.raises(SettingsError) as caught:
        load_settings(path, {})
    message = str(caught.value)
    assert "\n" not in message
    assert field in message


def test_store_url_from_the_environment_overrides_the_file(tmp_path):
    # The Deployment hands the store's URL over from a Secret in THEMIS_STORE_URL, beside a config file.
    path = tmp_path / "orchestrator.yml"
    path.write_text("domains: {a: {primary: 'http://h:1'}}\nstore_url: 'sqlite:///from-file.db'")
    secret = "postgresql://themis:secret@db:5432/themis"
    assert load_settings(path, {}, {"THEMIS_STORE_URL": secret}).store_url == secret
    assert load_settings(path, {}, {}).store_url == "sqlite:///from-file.db"
    # Set but empty (an unset optional Secret key): the file's URL stands.
    assert load_settings(path, {}, {"THEMIS_STORE_URL": ""}).store_url == "sqlite:///from-file.db"
    # The generated Deployment sets the variable this reads.
    [deployment] = [o for o in orchestrator_objects(DEFAULT_CONFIG) if o["kind"] == "Deployment"]
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert "THEMIS_STORE_URL" in {variable["name"] for c in containers for variable in c.get("env", ())}


def test_analysis_types_default_to_configured_domains():
    settings = _settings(legal={"primary": "http://h:1"}, finance={"primary": "http://h:2"})
    assert settings.analysis_domains == {"legal": "legal", "financial": "finance", "risk": "finance", "ip": "legal",
                                         "finance": "finance"}  # fmt: skip


def test_label_classes_follow_the_seed():
    assert [depth_class(n) for n in (5, 10, 20, 7)] == ["5", "10", "20", "other"]
    assert [complexity_class(n) for n in (1, 4, 5, 10, 11)] == ["simple", "simple", "medium", "medium", "complex"]


def test_metrics_serve_only_orchestrator_catalogue_entries_with_bounded_labels():
    metrics = OrchestratorMetrics()
    for index in range(100):
        metrics.step(f"step-{index}", 1.0, 2.0)
        metrics.routed(f"domain-{index}")
    metrics.reasoning("dag", 10, 10, 5, "parallel", 1.5, True)
    families = {f.name: f for f in text_string_to_metric_families(generate_latest(metrics.registry).decode())}
    allowed = {m.name.removesuffix("_total") for m in CATALOGUE.by_source(Source.ORCHESTRATOR)}
    assert set(families) <= allowed
    steps = {s.labels["step"] for s in families["themis_reasoning_step_start_timestamp_seconds"].samples}
    assert len(steps) == CATALOGUE["themis_reasoning_step_start_timestamp_seconds"].labels[0].bound
    assert "other" in steps
    routed = {s.labels["domain"]: s.value for s in families["themis_orchestrator_tasks"].samples
              if s.name.endswith("_total") and s.value}  # fmt: skip
    assert routed == {"other": 100.0}
    executed = [s for s in families["themis_cot_steps_executed"].samples if s.name.endswith("_total") and s.value]
    assert [(s.labels["reasoning_depth"], s.value) for s in executed] == [("10", 10.0)]


def _samples(metrics: OrchestratorMetrics) -> dict[tuple[str, frozenset], float]:
    text = generate_latest(metrics.registry).decode()
    families = text_string_to_metric_families(text)
    return {(s.name, frozenset(s.labels.items())): s.value for family in families for s in family.samples}


def test_series_with_known_label_values_exist_at_zero_before_the_first_event():
    # increase() counts an event only between two samples: the scrape before the first task must see 0.
    metrics = OrchestratorMetrics()
    before = _samples(metrics)
    for complexity in ("simple", "medium", "complex"):
        assert before[("themis_reasoning_task_total", frozenset({("complexity", complexity)}))] == 0
        assert before[("themis_reasoning_task_success_total", frozenset({("complexity", complexity)}))] == 0
    for mode in ("parallel", "sequential"):
        assert before[("themis_distributed_cot_latency_seconds_count", frozenset({("mode", mode)}))] == 0
    assert before[("themis_orchestrator_unroutable_requests_total", frozenset({("domain", "legal")}))] == 0
    # Gauges read nothing until something is measured; labels from configuration are not guessed.
    assert not any(name.startswith("themis_reasoning_step_") for name, _ in before)
    assert not any(name == "themis_cross_shard_queries_total" for name, _ in before)
    metrics.reasoning("dag", 3, 3, 2, "parallel", 0.5, True)
    after = _samples(metrics)
    assert after[("themis_reasoning_task_success_total", frozenset({("complexity", "simple")}))] == 1
    assert after[("themis_distributed_cot_latency_seconds_count", frozenset({("mode", "parallel")}))] == 1


def test_server_refuses_bad_config_in_one_line_with_exit_2(tmp_path, capsys):
    from observatory.orchestrator.server import main

    config = tmp_path / "orchestrator.yml"
    config.write_text("domains: {legal: {primary: 'http://127.0.0.1:1'}}\nstore_url: 'mysql://nowhere'\n")
    assert main(["--config", str(config)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("observatory-orchestrator: store_url:") and error.count("\n") == 1
    assert main(["--config", str(tmp_path / "missing.yml")]) == 2
    assert "cannot read" in capsys.readouterr().err
