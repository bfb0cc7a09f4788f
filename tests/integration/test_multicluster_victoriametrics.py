"""Two clusters behind one VictoriaMetrics: the same dashboards and rules mean the same as on each Prometheus.

Each cluster is a real shard scraped by its own Prometheus, run from the generated prometheus.yml with
``cluster`` set (so it carries external_labels.cluster) and the committed rule files, remote-writing into
one VictoriaMetrics. Cluster a gets three times the traffic of cluster b, and both shards are called
``legal``, so a series of one cluster leaking into the other's view changes a value or a label set.

Every query is asked of both backends at the same instant. Tolerance: both hold the very same samples
(remote_write copies each scraped sample with its timestamp), so only range functions may differ: Prometheus
extrapolates rate()/increase() from the samples inside the window to up to 1.1 scrape intervals past them,
VictoriaMetrics starts from the last sample before the window. Each of the two edges may so be placed up
to one interval s apart, and a scrape delayed by a busy machine moves one by another: over a range of W
seconds values agree within 4·s/W of the shortest range (13 % for the 30 s windows used here, against the
300 % that a's traffic is of b's); expressions without ranges agree to the float precision of the store.
MetricsQL divides by the time its samples cover, Prometheus by the window: where a range is longer than
the history the test has (five-minute and longer windows), values cannot agree and only the series each
backend returns are compared. A NaN is no value on either side (see ``_series``).
"""

from __future__ import annotations

import contextlib
import json
import math
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import promql_parser
import pytest

from observatory import dashboards
from observatory.config import DEFAULT_CONFIG, ObservatoryConfig
from observatory.lint.labels import walk
from observatory.manifests.alertmanager_config import alertmanager_config
from observatory.manifests.prometheus_config import prometheus_config
from observatory.rules.mixin import rule_groups
from observatory.verify.checks import panel_expr
from support.prometheus import PrometheusServer, running_alertmanager, running_server
from support.runtime import model_cache, request_json, running_shard
from support.victoriametrics import running_victoriametrics
from support.webhook import WebhookReceiver, running_webhook

pytestmark = pytest.mark.slow
# Inference requests each cluster's shard serves. Odd totals: a quantile's rank (q × total) then never equals a
# bucket's cumulative count, where Prometheus answers the lower bucket's bound and VictoriaMetrics the start of
# the next one (both are quantiles of so few observations; only the tie is told apart differently).
CLUSTERS = {"a": 9, "b": 3}
SCRAPE_SECONDS = 1.0
# Grafana's $__rate_interval for a 1 s scrape and a 15 s step is 16 s; 30 s keeps two scrapes well inside.
WINDOWS = {"$__rate_interval": "30s", "${__rate_interval}": "30s", "$__interval": "15s", "${__interval}": "15s"}
RANGE = "30s"


@dataclass
class Clusters:
    store: PrometheusServer
    prometheus: dict[str, PrometheusServer]
    at: float  # the instant every query is asked at
    history: float  # seconds of samples before it
    webhook: WebhookReceiver  # where the one Alertmanager sends both clusters' notifications


def _config(cluster: str, store: str, alertmanager: str, webhook: str) -> ObservatoryConfig:
    prometheus = replace(DEFAULT_CONFIG.prometheus, scrape_interval="1s", scrape_timeout="1s",
                         evaluation_interval="1s", shard_scrape_interval="1s",
                         remote_write_urls=(f"{store}/api/v1/write",))  # fmt: skip
    alerting = replace(DEFAULT_CONFIG.alertmanager, address=alertmanager.removeprefix("http://"), webhook_url=webhook)
    return replace(DEFAULT_CONFIG, cluster=cluster, shards=("legal",), prometheus=prometheus,
                   alertmanager=alerting)  # fmt: skip


@pytest.fixture(scope="module")
def clusters(tmp_path_factory: pytest.TempPathFactory, repo_root: Path) -> Iterator[Clusters]:
    workdir = tmp_path_factory.mktemp("multicluster")
    cache = model_cache(tmp_path_factory)
    rule_files = [str(path) for path in sorted(repo_root.glob("rules/*.yml"))]
    with running_victoriametrics(workdir) as store, running_webhook() as webhook, contextlib.ExitStack() as stack:
        # One Alertmanager for both clusters, from the generated alertmanager.yml.
        receiver = replace(DEFAULT_CONFIG, alertmanager=replace(DEFAULT_CONFIG.alertmanager, webhook_url=webhook.url))
        routing = alertmanager_config(receiver, rule_groups(DEFAULT_CONFIG))
        _, alertmanager = stack.enter_context(running_alertmanager(workdir, routing))
        servers, shards = {}, {}
        for cluster in CLUSTERS:
            (workdir / cluster).mkdir()
            _, shard = stack.enter_context(running_shard(cache, workdir / cluster))
            address = shard.removeprefix("http://")
            # Only the shard runs: the other components' jobs scrape a closed port, as when they are down.
            locate = lambda job, domain, a=address: a if job.name == DEFAULT_CONFIG.jobs.shards else "127.0.0.1:9"  # noqa: E731
            config = prometheus_config(_config(cluster, store.base_url, alertmanager, webhook.url), locate, rule_files)
            # Remote-written samples reach the store within a second rather than the default five.
            config["remote_write"][0]["queue_config"] = {"batch_send_deadline": "1s"}
            assert config["global"]["external_labels"] == {"cluster": cluster}
            flags = (f"--storage.tsdb.path={workdir / cluster / 'tsdb'}",)
            process, base = stack.enter_context(running_server("prometheus", workdir / cluster, config, *flags))
            servers[cluster], shards[cluster] = PrometheusServer(base, process), shard
        for server in servers.values():
            server.wait_until('up{job="themisdb-shards"} == 1')
        started = time.time()
        # History before the windows the queries read, so both backends find a sample before each window.
        time.sleep(35)
        for cluster, requests in CLUSTERS.items():
            for _ in range(requests):
                status, _ = request_json("POST", f"{shards[cluster]}/api/v1/inference",
                                         {"prompt": "Hello", "max_tokens": 2})  # fmt: skip
                assert status == 200
        # The traffic inside the 30 s windows that end at the instant asked; whole seconds keep time() exact.
        time.sleep(15)
        at = float(int(time.time()) - 3)
        for cluster in CLUSTERS:
            # Samples leave each remote-write queue shard in their own batches: wait for two seconds past the instant.
            store.wait_until(f'timestamp(up{{cluster="{cluster}", job="themisdb-shards"}}) > {at + 2}', timeout=30)
        yield Clusters(store, servers, at, at - started, webhook)


def _ask(server: PrometheusServer, expr: str, at: float, **params: str) -> list[dict]:
    data = server.api("query", query=expr, time=f"{at:.3f}", **params)
    if data["resultType"] == "scalar":
        return [{"metric": {}, "value": data["result"]}]
    return data["result"]


def _series(result: list[dict]) -> dict[frozenset, float]:
    """Each series with a value by its labels without cluster, and its value.

    A NaN (a ratio of two zero rates) is no value: Grafana draws none, Prometheus answers the series with
    NaN and VictoriaMetrics leaves it out; both mean there was nothing to measure.
    """
    values = {
        frozenset((k, v) for k, v in series["metric"].items() if k != "cluster"): float(series["value"][1])
        for series in result
    }
    return {labels: value for labels, value in values.items() if not math.isnan(value)}


def _ranges(expr: str) -> list[float]:
    tree = promql_parser.parse(expr)
    ranges = []
    for node in walk(tree):
        if isinstance(node, promql_parser.MatrixSelector | promql_parser.SubqueryExpr):
            ranges.append(node.range.total_seconds())
    return ranges


def _agree(expected: dict, got: dict, expr: str, history: float) -> str | None:
    """Why ``got`` (the store, one cluster) disagrees with ``expected`` (that cluster's Prometheus), or None."""
    if set(got) != set(expected):
        return f"series differ: Prometheus {sorted(map(sorted, expected))} store {sorted(map(sorted, got))}"
    ranges = _ranges(expr)
    if ranges and max(ranges) > history:
        return None  # values are not comparable over a window longer than the history (see the module's note)
    tolerance = 4 * SCRAPE_SECONDS / min(ranges) if ranges else 1e-9
    for labels, value in expected.items():
        other = got[labels]
        # VictoriaMetrics keeps about 15 significant digits: a Unix time in seconds to ten microseconds.
        if not math.isclose(value, other, rel_tol=tolerance, abs_tol=1e-5):
            return f"{dict(labels)}: Prometheus {value}, store {other} (tolerance {tolerance:.1%})"
    return None


def _panel_queries() -> list[tuple[str, str]]:
    suite = dashboards.dashboards(DEFAULT_CONFIG)
    queries = [(f"{d.title} / {p.title}", t.expr) for d in suite for p in d.panels for t in p.targets]
    return queries + [("annotation", expr) for expr in dashboards.navigation.annotation_queries(DEFAULT_CONFIG)]


def _windowed(expr: str) -> str:
    for variable, window in WINDOWS.items():
        expr = expr.replace(variable, window)
    return expr


def _per_series(per_cluster: dict[str, list[dict]]) -> bool:
    """Whether a query draws series per target (per shard, instance, ...) rather than one figure per view.

    Buckets alone (``le``) are a distribution over every chosen cluster, like a stat.
    """
    return any(set(s["metric"]) - {"cluster", "le"} for result in per_cluster.values() for s in result)


def _both_chosen(
    where: str, expr: str, both: list[dict], per_cluster: dict[str, list[dict]], clusters: Clusters
) -> list[str]:
    """What is wrong with a query's answer when both clusters are chosen.

    Both clusters run a shard called ``legal``: a per-target series must keep its ``cluster``, or the two
    shards merge into one, and each cluster's series must be what that cluster's own Prometheus answers.
    A figure over the whole view (a stat, a total) is the chosen clusters' together: it must exist when
    a cluster has one.
    """
    if not _per_series(per_cluster):
        if not both and any(per_cluster.values()):
            return [f"{where} [a|b]: no answer where a cluster alone has {per_cluster}"]
        return []
    unlabelled = [s["metric"] for s in both if s["metric"].get("cluster") not in per_cluster]
    if unlabelled:
        return [f"{where} [a|b]: series without their cluster {unlabelled}"]
    problems = []
    asked = panel_expr(_windowed(expr), RANGE)
    for cluster, prometheus in clusters.prometheus.items():
        local = _series(_ask(prometheus, asked, clusters.at))
        mine = _series([s for s in both if s["metric"]["cluster"] == cluster])
        problem = _agree(local, mine, asked, clusters.history)
        if problem:
            problems.append(f"{where} [a|b, {cluster}]: {problem}")
    return problems


def test_every_dashboard_query_means_the_same_per_cluster_and_keeps_clusters_apart(clusters: Clusters) -> None:
    problems, compared = [], 0
    for where, expr in _panel_queries():
        both = _ask(clusters.store, panel_expr(_windowed(expr).replace("$cluster", "a|b"), RANGE), clusters.at)
        per_cluster = {}
        for cluster, prometheus in clusters.prometheus.items():
            # The cluster's own Prometheus holds its series without the external label: "All" selects them.
            asked = panel_expr(_windowed(expr), RANGE)
            local = _series(_ask(prometheus, asked, clusters.at))
            result = _ask(clusters.store, panel_expr(_windowed(expr), RANGE, {"cluster": cluster}), clusters.at)
            leaked = [s["metric"] for s in result if s["metric"].get("cluster", cluster) != cluster]
            if leaked:
                problems.append(f"{where} [{cluster}]: series of another cluster {leaked}")
            problem = _agree(local, _series(result), asked, clusters.history)
            if problem:
                problems.append(f"{where} [{cluster}]: {problem}\n    {asked}")
            per_cluster[cluster] = result
            compared += 1
        problems.extend(_both_chosen(where, expr, both, per_cluster, clusters))
    assert compared == 2 * len(_panel_queries())
    assert problems == [], "\n".join(problems)


def _rule_expressions() -> list[tuple[str, str]]:
    return [
        (getattr(rule, "name", "") or rule.record, rule.expr)
        for group in rule_groups(DEFAULT_CONFIG)
        for rule in group.rules
    ]


def test_every_recording_and_alerting_expression_agrees_with_its_clusters_prometheus(clusters: Clusters) -> None:
    problems, valued = [], 0
    for name, expr in _rule_expressions():
        for cluster, prometheus in clusters.prometheus.items():
            local = _series(_ask(prometheus, expr, clusters.at))
            # The store asked within one cluster, as that cluster's Prometheus evaluates the rule.
            scoped = _series(_ask(clusters.store, expr, clusters.at, extra_label=f"cluster={cluster}"))
            problem = _agree(local, scoped, expr, clusters.history)
            if problem:
                problems.append(f"{name} [{cluster}]: {problem}\n    {expr}")
        valued += not _ranges(expr) or max(_ranges(expr)) <= clusters.history
    assert problems == [], "\n".join(problems)
    # Most expressions read recorded series or gauges and are compared by value, not only by their series.
    assert valued >= len(_rule_expressions()) // 2


def test_recorded_series_and_alerts_reach_the_store_with_their_cluster(clusters: Clusters) -> None:
    store = clusters.store
    for cluster, prometheus in clusters.prometheus.items():
        recorded = {s["metric"]["__name__"] for s in _ask(prometheus, '{__name__=~".+:.+"}', clusters.at)
                    if s["value"][1] != "NaN"}  # fmt: skip
        stored = {s["metric"]["__name__"] for s in _ask(store, f'{{__name__=~".+:.+", cluster="{cluster}"}}',
                                                         clusters.at)}  # fmt: skip
        assert recorded and stored == recorded
        alerts = {s["metric"]["alertname"] for s in _ask(prometheus, 'ALERTS{alertstate="firing"}', clusters.at)}
        stored_alerts = _ask(store, f'ALERTS{{alertstate="firing", cluster="{cluster}"}}', clusters.at)
        assert "ThemisWatchdog" in alerts and {s["metric"]["alertname"] for s in stored_alerts} == alerts
    # Every alert in the store says which cluster it fires in.
    assert all(s["metric"].get("cluster") in CLUSTERS for s in _ask(store, "ALERTS", clusters.at))
    # Traffic tells the clusters apart: a served three times what b did.
    served = {c: _ask(store, f'sum(themis_inference_requests_total{{cluster="{c}"}})', clusters.at)
              for c in CLUSTERS}  # fmt: skip
    assert {c: float(r[0]["value"][1]) for c, r in served.items()} == {c: float(n) for c, n in CLUSTERS.items()}


def test_observatory_verify_against_the_store_reports_each_cluster(clusters: Clusters) -> None:
    script = Path(sys.executable).with_name("observatory")
    result = subprocess.run([str(script), "verify", "--prometheus", clusters.store.base_url, "--format", "json"],
                            capture_output=True, text=True, timeout=300)  # fmt: skip
    report = json.loads(result.stdout)
    assert [c["cluster"] for c in report["clusters"]] == sorted(CLUSTERS)
    for cluster in report["clusters"]:
        statuses = {p["status"] for d in cluster["dashboards"] for p in d["panels"]}
        assert "error" not in statuses and "data" in statuses
    # The store evaluates no rules: nothing is "not loaded". A recorded series is missing from the store exactly
    # where its cluster's Prometheus has no value for it: its inputs are not scraped (the host and GPU exporters
    # are down), or it is NaN (no LoRA switch, no search yet), of which the store keeps nothing.
    assert report["missing_rule_groups"] == []
    records = list(dict.fromkeys(rule.record for group in rule_groups(DEFAULT_CONFIG) for rule in group.recordings))
    for cluster, prometheus in clusters.prometheus.items():
        valued = {s["metric"]["__name__"] for s in _ask(prometheus, '{__name__=~".+:.+"}', clusters.at)
                  if s["value"][1] != "NaN"}  # fmt: skip
        assert [gap for gap in report["missing_recorded"] if gap.startswith(f"cluster {cluster}:")] == [
            f"cluster {cluster}: recorded series {name} has no value" for name in records if name not in valued
        ]
    assert any("evaluates no rules" in note for note in report["notes"])
    # No metadata in the store: no type is misreported; the cluster label is not an undeclared one.
    assert report["wrong_types"] == []
    assert all("cluster" not in entry["labels"] for entry in report["undeclared_labels"])
    assert any(alert.startswith("ThemisWatchdog {cluster=a") for alert in report["firing_alerts"])
    # Every rule selector exists in each cluster; rate ranges cannot be judged where nothing is scraped.
    assert report["rule_series"] == [] and report["short_ranges"] == []
    assert any("rate ranges not checked" in note for note in report["notes"])
    # The two clusters run the same components: their panels have data alike, and the gaps (the components
    # that do not run) are the same in each.
    a, b = ({(d["title"], p["title"]): p["status"] for d in c["dashboards"] for p in d["panels"]}
            for c in report["clusters"])  # fmt: skip
    assert a == b
    assert result.returncode == 1 and report["gaps"]  # fmt: skip


def test_the_watchdog_of_each_cluster_reaches_the_dead_mans_switch_with_its_cluster(clusters: Clusters) -> None:
    # Prometheus adds its external label to the alerts it sends: one Alertmanager tells the clusters apart.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        watchdogs = [
            a["labels"] for a in clusters.webhook.alerts("firing") if a["labels"]["alertname"] == "ThemisWatchdog"
        ]
        if {labels["cluster"] for labels in watchdogs} == set(CLUSTERS):
            break
        time.sleep(0.5)
    # severity info, which no route or inhibit rule singles out: the default receiver gets it.
    assert {(labels["cluster"], labels["severity"]) for labels in watchdogs} == {(c, "info") for c in CLUSTERS}
