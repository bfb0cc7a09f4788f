"""`observatory verify` against a real Prometheus scraping a misbehaving exporter, and a real Alertmanager.

The exporter breaks the catalogue on purpose: a counter served as a gauge with an extra label, a metric
the catalogue does not know, a rule that fails to evaluate. Each must be reported as a gap.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

from observatory import dashboards
from observatory.catalogue import CATALOGUE
from observatory.config import DEFAULT_CONFIG
from observatory.rules.mixin import rule_groups
from observatory.rules.model import Group, Recording
from observatory.verify import Report, verify
from observatory.verify.report import UndeclaredLabels, WrongType
from support.processes import free_port
from support.prometheus import PrometheusServer, running_alertmanager, running_prometheus

pytestmark = pytest.mark.slow
BROKEN_RULE = "verify:many_to_many:product"


@contextlib.contextmanager
def misbehaving_exporter() -> Iterator[str]:
    """A real /metrics endpoint serving catalogue names the wrong way; yields its host:port."""
    registry = CollectorRegistry()
    # Declared a counter with labels shard, model, status: here a gauge with an extra `tenant` label.
    impostor = Gauge("themis_inference_requests_total", "x", ["shard", "model", "status", "tenant"], registry=registry)
    impostor.labels("legal", "m", "success", "acme").set(3)
    Gauge("themis_made_up_seconds", "not in the catalogue", registry=registry).set(1)
    # Served as the catalogue declares it: must not be reported.
    Counter("themis_vector_search_queries", "x", ["shard", "status"], registry=registry).labels(
        "legal", "success"
    ).inc()
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    workdir = tmp_path_factory.mktemp("verify")
    # Two jobs on one target give two `up` series: multiplying them on no labels is many-to-many.
    rules = workdir / "broken.yml"
    broken = {"name": "broken", "rules": [{"record": BROKEN_RULE, "expr": "up * on() up"}]}
    rules.write_text(yaml.safe_dump({"groups": [broken]}))
    with (
        misbehaving_exporter() as target,
        running_prometheus(workdir, {"a": [target], "b": [target]}, [rules]) as server,
    ):
        server.wait_until("themis_made_up_seconds")
        server.wait_until("count(up == 1) == 2")
        yield server


def _verify(prometheus: PrometheusServer, alertmanager: str | None = None) -> Report:
    groups = rule_groups(DEFAULT_CONFIG)
    return verify(prometheus.base_url, alertmanager, CATALOGUE, dashboards.dashboards(DEFAULT_CONFIG), groups)


def test_a_mistyped_metric_and_an_undeclared_label_are_gaps(prometheus: PrometheusServer) -> None:
    report = _verify(prometheus)
    assert report.wrong_types == (WrongType("themis_inference_requests_total", "counter", "gauge"),)
    assert report.undeclared_labels == (UndeclaredLabels("themis_inference_requests_total", ("tenant",)),)
    assert report.unexpected_metrics == ("themis_made_up_seconds",)
    assert "themis_vector_search_queries_total" not in report.missing_metrics
    assert not report.ok
    assert "metric themis_inference_requests_total is a gauge, declared a counter" in report.gaps


def test_a_failing_rule_and_unloaded_rule_groups_are_gaps(prometheus: PrometheusServer) -> None:
    deadline = time.monotonic() + 30
    # The rule fails from its first evaluation, one interval after start-up.
    while not any(rule["health"] == "err" for group in prometheus.api("rules")["groups"] for rule in group["rules"]):
        assert time.monotonic() < deadline, "the broken rule was never evaluated"
        time.sleep(0.2)
    report = _verify(prometheus)
    [error] = report.rule_errors
    assert (error.group, error.rule) == ("broken", BROKEN_RULE)
    assert "many-to-many" in error.error
    assert report.missing_rule_groups == tuple(group.name for group in rule_groups(DEFAULT_CONFIG))
    assert f"rule broken/{BROKEN_RULE} fails: {error.error}" in report.gaps


def test_alertmanager_reachable_or_not(prometheus: PrometheusServer, tmp_path: Path) -> None:
    config = {"route": {"receiver": "null"}, "receivers": [{"name": "null"}]}
    with running_alertmanager(tmp_path, config) as (_, base):
        assert _verify(prometheus, base).alertmanager.reachable is True
    dead = f"http://127.0.0.1:{free_port()}"
    result = _verify(prometheus, dead).alertmanager
    assert result.reachable is False and result.detail.startswith(f"{dead}: cannot connect")
    # Without a URL, verify asks Prometheus where it sends alerts: this one sends them nowhere.
    assert _verify(prometheus).alertmanager.detail == "Prometheus sends alerts to no Alertmanager"


def _recording(record: str, expr: str) -> Recording:
    return Recording(record, expr, (), "a rule written to be checked live")


def test_pints_live_checks_find_labels_that_never_exist_and_ranges_of_one_scrape(prometheus: PrometheusServer) -> None:
    searches = "themis_vector_search_queries_total"
    suspect = Group("suspect", (
        _recording("verify:searches:by_tenant", f'sum({searches}{{tenant="acme"}})'),
        _recording("verify:preemptions:sum", "sum(vllm_num_preemptions)"),
        _recording("verify:failed_searches:sum", f'sum({searches}{{status="server_error"}})'),
        _recording("verify:searches:rate1s", f'sum(rate({searches}{{job="a"}}[1s]))'),
        _recording("verify:searches:rate2s", f'sum(rate({searches}{{job="a"}}[2s]))'),
        _recording("verify:missing:absent", f'absent({searches}{{region="eu"}})'),
    ))  # fmt: skip
    groups = [*rule_groups(DEFAULT_CONFIG), suspect]
    report = verify(prometheus.base_url, None, CATALOGUE, dashboards.dashboards(DEFAULT_CONFIG), groups)
    where = "rule group 'suspect' / record"
    suspects = [gap for gap in report.rule_series if gap.startswith(where)]
    # A label the series never carry and a name nothing exposes are gaps (pint's promql/series) ...
    assert suspects == [
        f"{where} 'verify:searches:by_tenant': {searches} never has label tenant",
        f"{where} 'verify:preemptions:sum': vllm_num_preemptions has no series, and neither the catalogue nor a"
        " rule provides it",
    ]
    # ... a value not seen yet is only a note, and absent() looks for missing series on purpose.
    assert f'{where} \'verify:failed_searches:sum\': {searches}{{status="server_error"}} matches no series now' in (
        report.notes
    )
    assert not any("verify:missing:absent" in line for line in (*report.rule_series, *report.notes))
    # promql/rate: with a 1 s scrape, a 1 s range holds one sample, a 2 s range two; the generated rules pass.
    assert report.short_ranges == (
        f"{where} 'verify:searches:rate1s': rate() over {searches}[1s] spans fewer than two scrapes of job a"
        " (every 1s); widen it to 2s or more",
    )
    assert set(report.rule_series + report.short_ranges) <= set(report.gaps)
