"""End to end: a real shard and both exporters, scraped by a real Prometheus that evaluates our rules.

The scenario proves that the pieces fit: the catalogue's metrics come out of the running
components, the generated recording rules and alerts evaluate against them without error,
and every dashboard query is accepted by Prometheus itself.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from observatory import dashboards
from observatory.catalogue import CATALOGUE
from observatory.config import DEFAULT_CONFIG
from observatory.lint.promql import QueryChecker, substitute_grafana_variables
from observatory.metric import Source
from support.processes import RunningProcess, free_port, wait_for_http
from support.prometheus import PrometheusServer, running_prometheus
from support.runtime import get_json, model_cache, request_json, running_shard

TESTS = Path(__file__).resolve().parents[1]
SCRAPED_SOURCES = {Source.SHARD, Source.HOST_EXPORTER, Source.GPU_EXPORTER}
pytestmark = pytest.mark.slow
# Queries that show events, empty while none happened: restarts (annotations).
EVENTS = {"dashboard annotation"}


def _exporter(script: str, workdir: Path, *flags: str) -> tuple[RunningProcess, str]:
    port = free_port()
    argv = [str(Path(sys.executable).with_name(script)), "--listen-address", "127.0.0.1", "--port", str(port), *flags]
    # The GPU exporter reads the substitute NVML from tests/support: this machine has no GPU.
    env = {**os.environ, "PYTHONPATH": str(TESTS)}
    process = RunningProcess(argv, workdir / f"{script}.log", env=env)
    wait_for_http(f"http://127.0.0.1:{port}/metrics", timeout=30, process=process.process)
    return process, f"127.0.0.1:{port}"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, repo_root: Path) -> Iterator[PrometheusServer]:
    workdir = tmp_path_factory.mktemp("stack")
    # A configured quality score, so that the cost-efficiency table has its column.
    with running_shard(model_cache(tmp_path_factory), workdir, model_quality={"mmlu": 0.62}) as (shard, base):
        shard_target = base.removeprefix("http://")
        shard_port = shard_target.rsplit(":", 1)[1]
        host, host_target = _exporter(
            "observatory-host-exporter", workdir, "--shard", "legal", "--pid", str(shard.process.pid),
            "--shard-port", shard_port,
        )  # fmt: skip
        gpu, gpu_target = _exporter("observatory-gpu-exporter", workdir, "--shard", "legal", "--nvml-module",
                                    "support.exporters")  # fmt: skip
        jobs = {"themisdb-shards": [shard_target], "node-exporter": [host_target], "nvidia-gpu-exporter": [gpu_target]}
        try:
            with running_prometheus(workdir, jobs, sorted(repo_root.glob("rules/*.yml"))) as prometheus:
                # Traffic after the first scrape, so that rates see the counters rise.
                prometheus.wait_until('up{job="themisdb-shards"} == 1')
                _drive_traffic(base)
                # Rates and increases need two samples after the traffic: wait for two more scrapes of every job.
                for job in jobs:
                    scrapes = f'count_over_time(up{{job="{job}"}}[1m])'
                    [now] = prometheus.wait_until(scrapes)
                    prometheus.wait_until(f"{scrapes} >= {float(now['value'][1]) + 2}")
                yield prometheus
        finally:
            host.stop()
            gpu.stop()


def _drive_traffic(base: str) -> None:
    documents = {"documents": [{"text": f"clause {i} of the contract"} for i in range(40)]}
    assert request_json("POST", f"{base}/api/v1/documents", documents)[0] == 201
    adapter = get_json(f"{base}/api/v1/lora")[1]["available"][0]
    for i in range(12):
        # Every other request applies an adapter: the first loads it, the rest hit the cache.
        adapters = [{"name": adapter}] if i % 2 else []
        request = {"prompt": f"Question {i}", "max_tokens": 8, "adapters": adapters}
        assert request_json("POST", f"{base}/api/v1/inference", request)[0] == 200
        assert request_json("POST", f"{base}/api/v1/search", {"text": f"clause {i}", "k": 5})[0] == 200


def test_every_target_is_up(stack: PrometheusServer) -> None:
    for job in ("themisdb-shards", "node-exporter", "nvidia-gpu-exporter"):
        # Exactly one target per job, and it answers.
        [_] = stack.wait_until(f'up{{job="{job}"}} == 1')


def test_each_component_exposes_its_catalogue_metrics(stack: PrometheusServer) -> None:
    expected = [metric.series_names[0] for metric in CATALOGUE if SCRAPED_SOURCES & set(metric.sources)]
    # Series appear with the first scrape after the traffic; the adapter series comes late in it.
    stack.wait_until("themis_lora_adapter_requests_total")
    present = set(stack.api("label/__name__/values"))
    assert [name for name in expected if name not in present] == []


def test_recording_rules_produce_series_from_live_data(stack: PrometheusServer) -> None:
    # Each wait is the check: the recorded series exists and is positive.
    stack.wait_until('shard:themis_inference_requests:rate5m{shard="legal"} > 0')
    stack.wait_until('shard:themis_generated_tokens_per_second:ratio_rate5m{shard="legal"} > 0')
    cpu = stack.wait_until('shard:themis_cpu_usage:ratio_rate5m{shard="legal"}')
    assert 0 <= float(cpu[0]["value"][1]) <= 1
    vram = stack.wait_until('shard_gpu:themis_vram_usage:ratio{shard="legal"}')
    assert {series["metric"]["gpu"] for series in vram} == {"0", "1"}
    # The budget is 0/0 (NaN) in every evaluation that saw no request in the period: those before the
    # traffic's first scrape, and on a loaded machine the rule group can lag a few evaluations behind the
    # scrapes. The stack's scrapes already hold all of the traffic, so the check reads an evaluation that
    # began after now (Prometheus stamps rule results with this machine's clock).
    now = time.time()
    for slo in ("availability", "latency"):
        budget = f'shard:themis_slo_error_budget_remaining:ratio{{shard="legal", slo="{slo}"}}'
        [evaluated] = stack.wait_until(f"{budget} and timestamp({budget}) > {now}")
        # No request failed or was rejected, and every one was far below the latency threshold: all of it remains.
        assert float(evaluated["value"][1]) == 1.0, (slo, evaluated)


def test_every_rule_evaluates_without_error(stack: PrometheusServer) -> None:
    stack.wait_until("shard:themis_slo_error_budget_remaining:ratio")
    groups = stack.api("rules")["groups"]
    assert {group["name"] for group in groups} >= {"themis-recording", "themis-inference-alerts"}
    broken = [(rule["name"], rule.get("lastError")) for group in groups for rule in group["rules"]
              if rule["health"] == "err"]  # fmt: skip
    assert broken == []


def test_prometheus_accepts_every_dashboard_query_and_live_panels_have_data(stack: PrometheusServer) -> None:
    stack.wait_until("shard:themis_slo_error_budget_remaining:ratio")
    checker = QueryChecker(CATALOGUE, {})
    empty = []
    for query in dashboards.queries(dashboards.dashboards(DEFAULT_CONFIG), DEFAULT_CONFIG):
        expr = substitute_grafana_variables(query.expr.replace("$shard", ".*").replace("$cluster", ".*"))
        result = stack.query(expr)  # raises on any error Prometheus reports
        sources = {source for name in checker.referenced_metrics(query.expr) for source in CATALOGUE[name].sources}
        if sources and sources <= SCRAPED_SOURCES and not result and query.where not in EVENTS:
            empty.append(query.where)
    # Panels fed only by running components show data; the rest need the orchestrator.
    assert empty == [], empty


def _verify(*args: str) -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name("observatory")
    return subprocess.run([str(script), "verify", *args], capture_output=True, text=True, timeout=300)


def test_verify_finds_exactly_the_gaps_of_a_stack_without_orchestrator(stack: PrometheusServer) -> None:
    stack.wait_until("shard:themis_slo_error_budget_remaining:ratio")
    result = _verify("--prometheus", stack.base_url, "--format", "json")
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    orchestrator_only = [m.name for m in CATALOGUE if set(m.sources) == {Source.ORCHESTRATOR}]
    assert report["missing_metrics"] == orchestrator_only
    assert report["wrong_types"] == report["undeclared_labels"] == report["unexpected_metrics"] == []
    assert report["rule_errors"] == report["missing_rule_groups"] == []
    # The stack's Prometheus names no Alertmanager: alerts could reach nobody.
    assert report["alertmanager"]["reachable"] is False
    checker = QueryChecker(CATALOGUE, {})
    panels = {(d.title, p.title): p for d in dashboards.dashboards(DEFAULT_CONFIG) for p in d.panels}
    statuses = {(d["title"], p["title"]): p["status"] for d in report["dashboards"] for p in d["panels"]}
    assert statuses.keys() == panels.keys()
    assert "error" not in statuses.values()
    for key, panel in panels.items():
        sources = {
            s for t in panel.targets for name in checker.referenced_metrics(t.expr) for s in CATALOGUE[name].sources
        }
        if sources and sources <= SCRAPED_SOURCES:
            assert statuses[key] == "data", key
        elif sources == {Source.ORCHESTRATOR}:
            assert statuses[key] == "empty", key
    assert set(report["gaps"]) >= {f"metric {name} is missing" for name in orchestrator_only}


def test_verify_prints_a_table_per_dashboard_and_the_verdict(stack: PrometheusServer) -> None:
    result = _verify("--prometheus", stack.base_url)
    assert result.returncode == 1
    for dashboard in dashboards.dashboards(DEFAULT_CONFIG):
        assert f"## Dashboard {dashboard.title} (" in result.stdout
    assert result.stdout.rstrip().splitlines()[-1].startswith("FAILED: ")
