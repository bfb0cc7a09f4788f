"""What the dashboards' queries return from a real Prometheus in the states on-call meets.

Shards are scrape targets serving chosen series: two replicas of one shard (one degraded), a
healthy shard that is then stopped, a target that answers without a health gauge, and a shard
that serves every cost input at zero traffic. The questions are the panels' own queries, taken
from the generated definitions, and their colours are read from the generated JSON.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from observatory import dashboards
from observatory.catalogue import CATALOGUE
from observatory.config import DEFAULT_CONFIG
from observatory.config.selectors import with_selectors
from observatory.dashboards.cost_roi import CostQueries, per_day
from observatory.exposition import instrument
from observatory.lint.promql import substitute_grafana_variables
from support.dashboards import panels_of, rendered
from support.exposition import ExpositionTarget
from support.prometheus import PrometheusServer, running_server

pytestmark = pytest.mark.slow
SUITE = dashboards.dashboards(DEFAULT_CONFIG)
SHARD_JOB = DEFAULT_CONFIG.jobs.shards


def _exposition(shard: str, health: float | None, cost_inputs: bool = False) -> str:
    """A shard's /metrics: its health gauge (unless None) and, optionally, every cost input without traffic."""
    registry = CollectorRegistry()
    if health is not None:
        instrument(CATALOGUE["themis_shard_health_status"], registry).labels(shard=shard).set(health)
    if cost_inputs:
        gpu = {"shard": shard, "gpu": "0", "uuid": "GPU-0"}
        instrument(CATALOGUE["themis_gpu_info"], registry).labels(**gpu, name="RTX 4090", driver_version="550").set(1)
        instrument(CATALOGUE["themis_gpu_energy_joules_total"], registry).labels(**gpu)
        instrument(CATALOGUE["themis_gpu_power_usage_watts"], registry).labels(**gpu).set(0)
        instrument(CATALOGUE["themis_gpu_utilization_ratio"], registry).labels(**gpu).set(0)
        model = {"shard": shard, "model": "mistral-7b"}
        requests = instrument(CATALOGUE["themis_inference_requests_total"], registry)
        for status in ("success", "server_error", "rejected"):
            requests.labels(**model, status=status)
        instrument(CATALOGUE["themis_prompt_tokens_total"], registry).labels(**model)
        instrument(CATALOGUE["themis_generated_tokens_total"], registry).labels(**model)
        instrument(CATALOGUE["themis_inference_latency_seconds"], registry).labels(**model)
        instrument(CATALOGUE["themis_model_quality_ratio"], registry).labels(**model, benchmark="mmlu").set(0.62)
        instrument(CATALOGUE["themis_lora_switch_latency_seconds"], registry).labels(shard=shard)
        instrument(CATALOGUE["themis_vector_search_latency_seconds"], registry).labels(shard=shard)
        instrument(CATALOGUE["themis_multi_perspective_consensus_latency_seconds"], registry)
    return generate_latest(registry).decode()


# A DAG's steps as (start, end) in Unix seconds: a 50 ms step, far shorter than a scrape, then two in parallel.
DAG = {"plan": (1_000.0, 1_000.05), "search": (1_000.05, 1_002.0), "draft": (1_000.05, 1_001.0)}


# Wall times of distributed chains-of-thought per mode: parallel runs take a third of sequential ones.
RUNS = {"parallel": (2.0, 2.0), "sequential": (6.0, 6.0)}


def _dag_exposition(ran: bool = False) -> str:
    """The orchestrator's step timestamps, and its chain-of-thought latencies before (none) or after ``RUNS``."""
    registry = CollectorRegistry()
    latency = instrument(CATALOGUE["themis_distributed_cot_latency_seconds"], registry)
    for mode, walls in RUNS.items():
        child = latency.labels(mode=mode)
        for wall in walls if ran else ():
            child.observe(wall)
    starts = instrument(CATALOGUE["themis_reasoning_step_start_timestamp_seconds"], registry)
    ends = instrument(CATALOGUE["themis_reasoning_step_end_timestamp_seconds"], registry)
    for step, (start, end) in DAG.items():
        starts.labels(step=step).set(start)
        ends.labels(step=step).set(end)
    return generate_latest(registry).decode()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, repo_root: Path) -> Iterator[tuple[PrometheusServer, dict]]:
    workdir = tmp_path_factory.mktemp("dashboards")
    targets = {
        ("legal", "a"): ExpositionTarget(_exposition("legal", 1)),
        ("legal", "b"): ExpositionTarget(_exposition("legal", 0.5)),
        ("finance", "a"): ExpositionTarget(_exposition("finance", 1)),
        ("medical", "a"): ExpositionTarget(_exposition("medical", None)),
        ("technical", "a"): ExpositionTarget(_exposition("technical", 1, cost_inputs=True)),
    }
    # As the generated prometheus.yml does: every target of the shard job carries its shard's label.
    scrape = {
        "job_name": SHARD_JOB,
        "honor_labels": True,
        "static_configs": [
            {"targets": [target.address], "labels": {"shard": shard}} for (shard, _), target in targets.items()
        ],
    }
    orchestrator = ExpositionTarget(_dag_exposition())
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s", "scrape_timeout": "1s"},
        "scrape_configs": [
            scrape,
            # The exporters' metrics come from the same expositions; their queries select their own jobs.
            *({**scrape, "job_name": job} for job in (DEFAULT_CONFIG.jobs.host, DEFAULT_CONFIG.jobs.gpu)),
            {"job_name": DEFAULT_CONFIG.jobs.orchestrator, "static_configs": [{"targets": [orchestrator.address]}]},
        ],
        "rule_files": [str(path) for path in sorted(repo_root.glob("rules/*.yml"))],
    }
    try:
        with running_server("prometheus", workdir, config, f"--storage.tsdb.path={workdir / 'tsdb'}") as (
            process,
            base_url,
        ):
            prometheus = PrometheusServer(base_url, process)
            prometheus.wait_until(f'count(up{{job="{SHARD_JOB}"}} == 1) == {len(targets)}')
            # The chains run after the first scrape, so that their counters rise inside Prometheus's view.
            orchestrator.text = _dag_exposition(ran=True)
            # Two evaluations of the hourly increases, so the cost queries have their inputs.
            prometheus.wait_until("count_over_time(shard:themis_inference_successes:increase1h[1m]) >= 2")
            yield prometheus, targets
    finally:
        orchestrator.stop()
        for target in targets.values():
            target.stop()


def _query(prometheus: PrometheusServer, expr: str) -> list[dict]:
    """A panel query as Grafana sends it with every shard and cluster chosen."""
    expr = expr.replace("$shard", ".*").replace("$cluster", ".*")
    return prometheus.query(substitute_grafana_variables(expr))


def _panel(uid: str, title: str):
    board = next(board for board in SUITE if board.uid == uid)
    return next(panel for panel in board.panels if panel.title == title)


def _colour(panel_json: dict, value: float) -> str:
    """The colour Grafana gives ``value``: an exact value mapping first, else the threshold step it reaches."""
    defaults = panel_json["fieldConfig"]["defaults"]
    for mapping in defaults["mappings"]:
        for key, shown in mapping["options"].items():
            if float(key) == value:
                return shown["color"]
    steps = defaults["thresholds"]["steps"]
    return [step["color"] for step in steps if step.get("value") is None or step["value"] <= value][-1]


def _by_shard(result: list[dict]) -> dict[str, float]:
    return {series["metric"].get("shard", ""): float(series["value"][1]) for series in result}


def test_a_stopped_shard_is_red_and_topology_health_drops(cluster: tuple[PrometheusServer, dict]) -> None:
    prometheus, targets = cluster
    health_panel = _panel("themis-cluster-overview", "Shard Health Heatmap")
    [health] = [target.expr for target in health_panel.targets]
    [topology] = [target.expr for target in _panel("themis-inter-cerebral", "Network Topology Health").targets]
    health_json = next(p for p in panels_of(rendered()["themis-cluster-overview"]) if p["title"] == health_panel.title)

    before = _by_shard(_query(prometheus, health))
    assert _colour(health_json, before["finance"]) == "green"
    # The degraded replica sets its shard's colour; a target without a health gauge is not healthy.
    assert _colour(health_json, before["legal"]) == "yellow"
    assert _colour(health_json, before["medical"]) == "red"
    [share] = _query(prometheus, topology)
    assert float(share["value"][1]) == pytest.approx(2 / 4)

    targets[("finance", "a")].stop()
    # Every job scraping the target (shard, host, GPU) has seen it go: each job's failed scrape ends its series.
    prometheus.wait_until('absent(up{shard="finance"} == 1)')
    after = _by_shard(_query(prometheus, health))
    # Its series are gone; the shard stays on the panel, red.
    assert _query(prometheus, 'themis_shard_health_status{shard="finance"}') == []
    assert _colour(health_json, after["finance"]) == "red"
    assert _colour(health_json, after["technical"]) == "green"
    [share] = _query(prometheus, topology)
    assert float(share["value"][1]) == pytest.approx(1 / 4)


def _cost_queries() -> list[tuple[str, str]]:
    board = next(board for board in SUITE if board.uid == "themis-cost-roi")
    return [(f"{panel.title} / {target.legend}", target.expr) for panel in board.panels for target in panel.targets]


def test_no_traffic_gives_no_nan_in_cost_and_target_queries(cluster: tuple[PrometheusServer, dict]) -> None:
    prometheus, _ = cluster
    stats = [
        (f"{panel.title}", target.expr)
        for board in SUITE
        for panel in board.panels
        if panel.title.startswith(("Consensus Rounds under", "LoRA Switches under", "Searches under"))
        for target in panel.targets
    ]
    assert len(stats) == 4
    # The golden signals table: an idle shard's error ratio and p95 are empty cells, not NaN.
    golden = [(f"Golden Signals / {target.legend}", target.expr) for target in _panel(
        "themis-cluster-overview", "Golden Signals per Shard").targets]  # fmt: skip
    not_finite = [
        (where, series["value"][1])
        for where, expr in _cost_queries() + stats + golden
        for series in _query(prometheus, expr)
        if not math.isfinite(float(series["value"][1]))
    ]
    assert not_finite == []


def test_break_even_savings_leave_the_hardware_to_the_purchase_line(cluster: tuple[PrometheusServer, dict]) -> None:
    prometheus, _ = cluster
    queries = dict(_cost_queries())
    costs = CostQueries(DEFAULT_CONFIG.costs, reach="65d")
    # The timeline accumulates the hourly operating savings (API value minus electricity) ...
    timeline = queries["ROI Timeline (Break-Even Tracking) / savings since the range start"]
    operating, hardware = (with_selectors(expr, DEFAULT_CONFIG) for expr in (costs.operating_savings, costs.hardware))
    assert operating in timeline and hardware not in timeline
    # ... which are 0 without traffic: the GPU's amortisation is not subtracted a second time, since the purchase
    # price it spreads over months is the line the savings are compared with.
    [hourly] = _query(prometheus, operating)
    assert float(hourly["value"][1]) == 0
    [purchase] = _query(prometheus, queries["ROI Timeline (Break-Even Tracking) / GPU purchase price"])
    assert float(purchase["value"][1]) == DEFAULT_CONFIG.costs.gpu_purchase_eur
    # The daily net savings do count the amortisation: one GPU's month spread over its 30 days of 24 hours.
    daily = per_day(costs.over("$__interval").net_savings)
    assert queries["Savings vs. GPT-4 (Daily) / saved (€/day)"] == with_selectors(daily, DEFAULT_CONFIG)
    [net] = _query(prometheus, with_selectors(costs.net_savings, DEFAULT_CONFIG))
    assert float(net["value"][1]) == pytest.approx(-DEFAULT_CONFIG.costs.gpu_cost_per_month_eur / 30 / 24)
    # Nothing saved: no break-even day to show (rather than a negative or an infinite one).
    assert _query(prometheus, queries["ROI Summary / Days to Break-Even"]) == []


def test_the_dag_timeline_places_every_step_at_its_real_start_and_length(
    cluster: tuple[PrometheusServer, dict],
) -> None:
    prometheus, _ = cluster
    start, duration = (
        t.expr for t in _panel("themis-distributed-reasoning", "DAG Execution Timeline (Gantt Chart)").targets
    )
    prometheus.wait_until('themis_reasoning_step_end_timestamp_seconds{step="draft"}')

    def by_step(expr: str) -> dict[str, float]:
        return {series["metric"]["step"]: float(series["value"][1]) for series in _query(prometheus, expr)}

    first = min(begin for begin, _ in DAG.values())
    assert by_step(start) == pytest.approx({step: begin - first for step, (begin, _) in DAG.items()})
    # The 50 ms step shows at its length, though no scrape ever saw it running.
    assert by_step(duration) == pytest.approx({step: end - begin for step, (begin, end) in DAG.items()})


def test_speedup_is_the_ratio_of_the_modes_mean_wall_times(cluster: tuple[PrometheusServer, dict]) -> None:
    prometheus, _ = cluster
    panel = _panel("themis-distributed-reasoning", "Parallel Execution Speedup")
    exprs = {target.legend: target.expr for target in panel.targets}
    prometheus.wait_until(
        f"{exprs['speedup (sequential / parallel)']}".replace("$shard", ".*").replace("$cluster", ".*")
    )
    [speedup] = _query(prometheus, exprs["speedup (sequential / parallel)"])
    mean = {mode: sum(walls) / len(walls) for mode, walls in RUNS.items()}
    assert float(speedup["value"][1]) == pytest.approx(mean["sequential"] / mean["parallel"])
