"""The six dashboards carry every seed 000 panel, with descriptions, units, variables and links."""

from __future__ import annotations

from dataclasses import replace

import pytest

from observatory import dashboards, rules
from observatory.artefacts import panel_linker
from observatory.catalogue import CATALOGUE
from observatory.config import DEFAULT_CONFIG, CostPrices
from observatory.config.vocabulary import objectives
from observatory.dashboards.cluster_overview import slo_budgets
from observatory.dashboards.cost_roi import dashboard
from observatory.dashboards.panels import metric, rate
from observatory.lint.promql import QueryChecker
from support.dashboards import panels_of, rendered

SUITE = dashboards.dashboards(DEFAULT_CONFIG)
SLO_BUDGETS = slo_budgets(DEFAULT_CONFIG)
panel_link = panel_linker(DEFAULT_CONFIG)

# Seed 000 (MONITORING_TESTING_STRATEGY), panel by panel: this is the spec.
SEED_PANELS = {
    "themis-cluster-overview": (
        "Total Throughput",
        "Aggregate Latency",
        "Shard Health Heatmap",
        "CPU/GPU Utilization",
        "Memory Usage (RAM + VRAM)",
        "Network Traffic (Inter-Shard)",
        "Active Connections",
    ),
    "themis-inter-cerebral": (
        "LoRA Transfer Activity",
        "Shard Collaboration Matrix",
        "Federated RAG Query Flow",
        "LoRA Cache Hit Rate",
        "Consensus Latency (Multi-Perspective)",
        "Orchestrator Task Distribution",
        "Cross-Shard Message Rate",
        "Network Topology Health",
    ),
    "themis-llm-inference": (
        "Tokens per Second",
        "Batch Size Utilization (Continuous Batching)",
        "KV Cache Efficiency (PagedAttention)",
        "LoRA Adapter Switching Time",
        "Model Loading Time (Cold Start)",
        "Inference Latency Breakdown",
        "Active LoRA Adapters",
        "Model Type Distribution",
    ),
    "themis-vector-search": (
        "Queries per Second (QPS)",
        "Search Latency Distribution",
        "Index Size in VRAM",
        "Recall@10 Accuracy",
        "Batch Processing Efficiency",
        "Index Operations",
        "GPU Memory Usage (FAISS-specific)",
    ),
    "themis-distributed-reasoning": (
        "Chain-of-Thought Steps Executed",
        "Parallel Execution Speedup",
        "Multi-Perspective Consensus Time",
        "Hierarchical Decomposition Depth",
        "Reasoning Task Success Rate",
        "DAG Execution Timeline (Gantt Chart)",
        "Perspective Agreement Matrix",
        "Task Complexity Distribution",
    ),
    "themis-cost-roi": (
        "Cost per 1M Tokens",
        "Queries Processed (Total)",
        "Savings vs. GPT-4 (Daily)",
        "GPU Utilization Rate",
        "ROI Timeline (Break-Even Tracking)",
        "Cost Efficiency by Model",
        "Electricity Cost",
        "ROI Summary",
    ),
}
# Panels where the seed names a plugin: the description must say which core type stands in.
PLUGIN_PANELS = {
    "LoRA Transfer Activity": "Sankey",
    "Federated RAG Query Flow": "node graph",
    "DAG Execution Timeline (Gantt Chart)": "Gantt",
}


def _rendered() -> dict[str, dict]:
    return rendered()


def test_the_six_dashboards_have_the_stable_uids() -> None:
    assert [d.uid for d in SUITE] == list(SEED_PANELS)
    assert set(_rendered()) == set(SEED_PANELS)


@pytest.mark.parametrize("uid", SEED_PANELS)
def test_every_seed_panel_is_there(uid: str) -> None:
    titles = [panel["title"] for panel in panels_of(_rendered()[uid])]
    missing = [title for title in SEED_PANELS[uid] if title not in titles]
    assert not missing, f"{uid} lacks seed panels {missing}"


def test_every_panel_has_a_description_and_a_unit() -> None:
    for data in _rendered().values():
        for panel in panels_of(data):
            assert panel["description"].strip(), panel["title"]
            assert panel["fieldConfig"]["defaults"]["unit"], panel["title"]


def test_single_metric_panels_take_their_description_from_the_catalogue() -> None:
    panels = {p.title: p for d in SUITE for p in d.panels}
    assert panels["Active Connections"].description.startswith(CATALOGUE["themis_active_connections"].help)
    assert panels["GPU Temperature"].unit == "celsius"
    assert panels["Aggregate Latency"].unit == "s"


def test_plugin_panels_name_their_stand_in() -> None:
    panels = _panels_by_title()
    assert panels["Federated RAG Query Flow"]["type"] == "nodeGraph"
    assert panels["DAG Execution Timeline (Gantt Chart)"]["type"] == "barchart"
    for title, word in PLUGIN_PANELS.items():
        assert word.lower() in panels[title]["description"].lower(), title


# The seed's thresholds and targets per panel, converted to our units (percent to a 0-1 ratio, ms to
# seconds): colour steps from the base step up, each applying from its value upwards. Panels the seed
# gives no threshold keep Grafana's single green base step.
GREEN, YELLOW, RED = "green", "yellow", "red"
SEED_THRESHOLDS = {
    "Total Throughput": [(RED, None), (YELLOW, 5), (GREEN, 10)],  # Red <5 req/s, Yellow <10, Green >=10
    "Aggregate Latency": [(GREEN, None), (YELLOW, 1), (RED, 2)],  # Red >2s, Yellow >1s (p95)
    "Shard Health Heatmap": [(RED, None), (YELLOW, 0.5), (GREEN, 1)],  # 0 unhealthy, 0.5 degraded, 1 healthy
    "CPU/GPU Utilization": [(GREEN, None), (YELLOW, 0.8), (RED, 0.95)],  # Red >95%, Yellow >80%
    "Memory Usage (RAM + VRAM)": [(GREEN, None), (YELLOW, 0.75), (RED, 0.9)],  # Red >90%, Yellow >75%
    "Active Connections": [(GREEN, None), (YELLOW, 50), (RED, 100)],  # Red >100, Yellow >50
    "LoRA Cache Hit Rate": [(RED, None), (GREEN, 0.7)],  # Target: >70%
    "Network Topology Health": [(RED, None), (YELLOW, 0.8), (GREEN, 0.95)],  # Red <80%, Yellow <95%
    "Tokens per Second": [(RED, None), (YELLOW, 20), (GREEN, 50)],  # Red <20, Yellow <50, Green >=50
    "Model Loading Time (Cold Start)": [(GREEN, None)],  # "Typical" ranges only, no threshold
    "Active LoRA Adapters": [(GREEN, None), (YELLOW, 9)],  # Warning if >8: whole adapters, so from 9
    "Queries per Second (QPS)": [(RED, None), (YELLOW, 10), (GREEN, 200)],  # >10 QPS (CPU), >200 QPS (GPU)
    "Index Size in VRAM": [(GREEN, None), (YELLOW, 80)],  # Warning if >80% of available VRAM (percentage mode)
    "Recall@10 Accuracy": [(RED, None), (YELLOW, 0.8), (GREEN, 0.9)],  # >80% acceptable, >90% good
    "Reasoning Task Success Rate": [(RED, None), (GREEN, 0.95)],  # Target: >95%
    "GPU Utilization Rate": [(RED, None), (GREEN, 0.7), ("dark-green", 0.85)],  # >70% good, >85% excellent
}
# Targets that differ between a panel's queries, as threshold lines on that query's series: (panel, legend).
SEED_QUERY_THRESHOLDS = {
    ("KV Cache Efficiency (PagedAttention)", "utilisation {{shard}}"): [(RED, None), (GREEN, 0.7)],  # >70%
    ("KV Cache Efficiency (PagedAttention)", "miss rate {{shard}}"): [(GREEN, None), (RED, 0.2)],  # <20%
    ("CUDA Fragmentation Events", "QPS {{shard}}"): [(GREEN, None), (RED, 65)],  # seed 002: risk above 65 QPS
}
# The seed's units in ours: percent as a 0-1 ratio, ms as seconds, MB/s and GB as byte units, € as currency.
SEED_UNITS = {
    "Total Throughput": "reqps",
    "Aggregate Latency": "s",
    "CPU/GPU Utilization": "percentunit",
    "Memory Usage (RAM + VRAM)": "percentunit",
    "Network Traffic (Inter-Shard)": "Bps",
    "LoRA Transfer Activity": "bytes",
    "LoRA Cache Hit Rate": "percentunit",
    "Network Topology Health": "percentunit",
    "KV Cache Efficiency (PagedAttention)": "percentunit",
    "Model Loading Time (Cold Start)": "s",
    "Inference Latency Breakdown": "s",
    "Queries per Second (QPS)": "reqps",
    "Search Latency Distribution": "s",
    "Index Size in VRAM": "bytes",
    "Recall@10 Accuracy": "percentunit",
    "GPU Memory Usage (FAISS-specific)": "bytes",
    "Parallel Execution Speedup": "s",
    "Reasoning Task Success Rate": "percentunit",
    "Perspective Agreement Matrix": "percentunit",
    "Cost per 1M Tokens": "currencyEUR",
    "Queries Processed (Total)": "short",
    "Savings vs. GPT-4 (Daily)": "currencyEUR",
    "GPU Utilization Rate": "percentunit",
    "ROI Timeline (Break-Even Tracking)": "currencyEUR",
    "Electricity Cost": "currencyEUR",
}


def _panels_by_title() -> dict[str, dict]:
    return {p["title"]: p for data in _rendered().values() for p in panels_of(data)}


def _steps(thresholds: dict) -> list[tuple[str, float | None]]:
    return [(step["color"], step.get("value")) for step in thresholds["steps"]]


@pytest.mark.parametrize(("title", "expected"), SEED_THRESHOLDS.items())
def test_seed_thresholds_are_converted(title: str, expected: list[tuple[str, float | None]]) -> None:
    thresholds = _panels_by_title()[title]["fieldConfig"]["defaults"]["thresholds"]
    assert _steps(thresholds) == expected
    assert thresholds["mode"] == ("percentage" if title == "Index Size in VRAM" else "absolute")


@pytest.mark.parametrize(("where", "expected"), SEED_QUERY_THRESHOLDS.items())
def test_per_query_targets_are_threshold_lines(where: tuple[str, str], expected: list) -> None:
    title, legend = where
    panel = _panels_by_title()[title]
    ref_id = next(t["refId"] for t in panel["targets"] if t["legendFormat"] == legend)
    override = next(o for o in panel["fieldConfig"]["overrides"] if o["matcher"]["options"] == ref_id)
    properties = {p["id"]: p["value"] for p in override["properties"]}
    assert _steps(properties["thresholds"]) == expected
    assert properties["custom.thresholdsStyle"] == {"mode": "line"}


@pytest.mark.parametrize(("title", "unit"), SEED_UNITS.items())
def test_seed_units_are_converted(title: str, unit: str) -> None:
    panel = _panels_by_title()[title]
    # A heatmap's bucket bounds are its y axis; its cells count observations.
    heatmap = panel["type"] == "heatmap"
    assert (panel["options"]["yAxis"] if heatmap else panel["fieldConfig"]["defaults"])["unit"] == unit


def test_shard_health_maps_values_and_colours_green_to_red() -> None:
    panel = _panels_by_title()["Shard Health Heatmap"]
    # A state timeline: Grafana's heatmap would hide the 0 cells and has no row for a shard without series.
    assert panel["type"] == "state-timeline"
    mappings = panel["fieldConfig"]["defaults"]["mappings"][0]["options"]
    assert {value: (m["text"], m["color"]) for value, m in mappings.items()} == {
        "1": ("healthy", GREEN),
        "0.5": ("degraded", YELLOW),
        "0": ("unhealthy", RED),
        "-1": ("down", RED),
    }


def test_collaboration_matrix_has_source_on_x_and_starts_blue_at_zero() -> None:
    panel = _panels_by_title()["Shard Collaboration Matrix"]
    options = panel["transformations"][0]["options"]
    assert (options["columnField"], options["rowField"]) == ("source_shard", "destination_shard")
    assert panel["fieldConfig"]["defaults"]["min"] == 0
    assert panel["fieldConfig"]["defaults"]["color"] == {"mode": "continuous-BlYlRd"}


def test_query_flow_edges_are_as_wide_as_their_query_rate() -> None:
    panel = _panels_by_title()["Federated RAG Query Flow"]
    renamed = next(t for t in panel["transformations"] if t["id"] == "organize")["options"]["renameByName"]
    assert renamed == {"Value #A": "mainstat", "Value #B": "thickness"}


def test_index_size_gauges_scale_to_each_shards_vram() -> None:
    panel = _panels_by_title()["Index Size in VRAM"]
    mappings = next(t for t in panel["transformations"] if t["id"] == "rowsToFields")["options"]["mappings"]
    assert {m["handlerKey"]: m["fieldName"] for m in mappings} == {
        "field.name": "shard",
        "field.value": "Value #A",
        "max": "Value #B",
    }
    assert ["themis_vram_total_bytes" in t["expr"] for t in panel["targets"]] == [False, True]


def test_histogram_stand_ins_say_why() -> None:
    panels = _panels_by_title()
    for title in (
        "Consensus Latency (Multi-Perspective)",
        "LoRA Adapter Switching Time",
        "Multi-Perspective Consensus Time",
    ):
        assert panels[title]["type"] == "bargauge"
        assert "bucket the values a second time" in panels[title]["description"], title


def test_schema_version_is_current() -> None:
    for data in _rendered().values():
        assert data["schemaVersion"] >= 36


def test_variables_datasource_and_multi_select_shard() -> None:
    for data in _rendered().values():
        variables = {v["name"]: v for v in data["templating"]["list"]}
        assert variables["datasource"]["type"] == "datasource"
        assert variables["datasource"]["query"] == "prometheus"
        shard = variables["shard"]
        assert (
            shard["query"]
            == 'label_values(themis_shard_health_status{job="themisdb-shards", cluster=~"$cluster"}, shard)'
        )
        assert shard["multi"] and shard["includeAll"]
        assert shard["datasource"] == {"type": "prometheus", "uid": "${datasource}"}


def test_links_reach_the_other_five() -> None:
    for uid, data in _rendered().items():
        urls = {link["url"] for link in data["links"]}
        assert len(urls) == 5
        assert {url.split("/")[2] for url in urls} == set(SEED_PANELS) - {uid}


def test_cost_prices_are_numbers_from_the_configuration() -> None:
    board = dashboard(replace(DEFAULT_CONFIG, costs=CostPrices(electricity_eur_per_kwh=0.31)))
    exprs = [t.expr for p in board.panels for t in p.targets]
    # A price is a number in the query: no dashboard text box, so no decimal comma can break it.
    assert any("* 0.31" in expr for expr in exprs)
    assert not any("0.14" in expr or "$electricity" in expr for expr in exprs)
    data = rendered()["themis-cost-roi"]
    assert [v["type"] for v in data["templating"]["list"] if v["type"] == "textbox"] == []


def test_every_query_passes_the_lint() -> None:
    checker = QueryChecker(CATALOGUE, rules.recorded_series(DEFAULT_CONFIG))
    queries = dashboards.queries(SUITE, DEFAULT_CONFIG)
    assert len(queries) > 100
    findings = [f.render() for q in queries for f in checker.check(q)]
    assert not findings, "\n".join(findings)


def test_queries_name_their_dashboard_and_panel() -> None:
    wheres = {q.where for q in dashboards.queries(SUITE, DEFAULT_CONFIG)}
    assert "dashboard 'Themis Cost & ROI' / panel 'ROI Summary'" in wheres


def test_the_shard_filter_applies_where_the_metric_has_a_shard_label() -> None:
    exprs = [q.expr for q in dashboards.queries(SUITE, DEFAULT_CONFIG)]
    assert all('shard=~"$shard"' in e for e in exprs if "themis_inference_requests_total" in e)


def test_panel_link_resolves_to_the_panel_id() -> None:
    link = panel_link("themis-llm-inference", "Tokens per Second")
    assert link == "/d/themis-llm-inference/llm-inference?viewPanel=1"
    data = _rendered()["themis-llm-inference"]
    panel_id = int(panel_link("themis-llm-inference", "Active LoRA Adapters").rsplit("=", 1)[1])
    assert [p["title"] for p in data["panels"] if p["id"] == panel_id] == ["Active LoRA Adapters"]
    assert panel_link("themis-llm-inference", "Tokens per Second") == link


def test_panel_link_rejects_unknown_uid_and_title() -> None:
    with pytest.raises(KeyError):
        panel_link("themis-nope", "Tokens per Second")
    with pytest.raises(KeyError):
        panel_link("themis-llm-inference", "No Such Panel")


def test_panel_ids_are_unique_per_dashboard() -> None:
    for data in _rendered().values():
        ids = [p["id"] for p in data["panels"]]
        assert len(ids) == len(set(ids))


def _exprs(uid: str, title: str) -> list[str]:
    board = next(d for d in SUITE if d.uid == uid)
    return [target.expr for panel in board.panels if panel.title == title for target in panel.targets]


# Panels whose query computes what a recording rule records: they read the recorded series, shard-filtered.
RECORDED_PANELS = {
    ("themis-cluster-overview", "Aggregate Latency"): "shard_le:themis_inference_latency_seconds_bucket:rate5m",
    ("themis-cluster-overview", "CPU/GPU Utilization"): "shard:themis_cpu_usage:ratio_rate5m",
    ("themis-cluster-overview", "Memory Usage (RAM + VRAM)"): "shard_gpu:themis_vram_usage:ratio",
    ("themis-llm-inference", "Tokens per Second"): "shard:themis_generated_tokens_per_second:ratio_rate5m",
}


@pytest.mark.parametrize(("panel", "series"), RECORDED_PANELS.items())
def test_panels_query_the_recorded_series(panel: tuple[str, str], series: str) -> None:
    exprs = _exprs(*panel)
    assert series in rules.recorded_series(DEFAULT_CONFIG)
    assert any(f'{series}{{cluster=~"$cluster", shard=~"$shard"}}' in expr for expr in exprs), exprs


def test_recorded_series_replace_the_raw_queries() -> None:
    latency = _exprs("themis-cluster-overview", "Aggregate Latency")
    assert len(latency) == 3
    assert not any("themis_inference_latency_seconds_bucket{" in expr for expr in latency)
    assert not any("themis_cpu_seconds_total" in e for e in _exprs("themis-cluster-overview", "CPU/GPU Utilization"))
    memory = _exprs("themis-cluster-overview", "Memory Usage (RAM + VRAM)")
    assert 'shard:themis_ram_usage:ratio{cluster=~"$cluster", shard=~"$shard"}' in memory
    assert not any("_bytes" in expr for expr in memory)
    assert _exprs("themis-llm-inference", "Tokens per Second") == [
        'shard:themis_generated_tokens_per_second:ratio_rate5m{cluster=~"$cluster", shard=~"$shard"}'
    ]


def test_cluster_overview_ends_with_the_slo_section() -> None:
    board = SUITE[0]
    assert [panel.title for panel in board.panels[-2:]] == ["Error Budget Remaining", "SLO Burn Rate"]
    budget, burn = board.panels[-2:]
    assert budget.unit == "percentunit"
    assert budget.description and burn.description
    assert _exprs(board.uid, budget.title) == [
        'shard:themis_slo_error_budget_remaining:ratio{cluster=~"$cluster", shard=~"$shard"}',
        # Uptime is per scrape target: a dead shard has no series of its own left to carry its name.
        'instance:themis_slo_error_budget_remaining:ratio{cluster=~"$cluster"}',
    ]
    assert [(t.color, t.value) for t in budget.thresholds] == [("red", None), ("yellow", 0), ("green", 0.25)]
    assert "30-day" in budget.description and "budget" in burn.description


def test_burn_rate_is_the_error_ratio_over_the_budget_with_the_paging_lines() -> None:
    burn = _panels_by_title()["SLO Burn Rate"]
    exprs = {t["legendFormat"]: t["expr"] for t in burn["targets"]}
    ratio = 'shard:themis_slo_errors_per_request:ratio_rate{}{{cluster=~"$cluster", shard=~"$shard", slo="{}"}}'
    # Burn rate: the share of bad requests divided by the share the objective allows (99.9 % -> 0.001).
    assert exprs["{{shard}} availability 1h"] == f"{ratio.format('1h', 'availability')} / 0.001"
    assert exprs["{{shard}} latency 6h"] == f"{ratio.format('6h', 'latency')} / 0.05"
    uptime = 'instance:themis_slo_errors_per_scrape:ratio_rate1h{cluster=~"$cluster"}'
    assert exprs["{{instance}} uptime 1h"] == f"{uptime} / 0.001"
    lines = {
        o["matcher"]["options"]: _steps(p["value"])
        for o in burn["fieldConfig"]["overrides"]
        for p in o["properties"]
        if p["id"] == "thresholds"
    }
    refs = {t["legendFormat"]: t["refId"] for t in burn["targets"]}
    # The SRE workbook's paging tiers: 14.4 over 1 hour, 6 over 6 hours; 1 is the sustainable rate.
    assert lines[refs["{{shard}} availability 1h"]] == [(GREEN, None), (RED, 14.4)]
    assert lines[refs["{{shard}} latency 6h"]] == [(GREEN, None), (RED, 6)]
    assert _steps(burn["fieldConfig"]["defaults"]["thresholds"]) == [(GREEN, None), (YELLOW, 1)]


def test_slo_budget_lines_match_the_rules() -> None:
    from observatory.rules.slo import slos

    # The rules' own SLOs, not the vocabulary the dashboard read them from.
    budgets = {slo.name: slo.budget for slo in slos(DEFAULT_CONFIG) if slo.name in SLO_BUDGETS}
    assert budgets == pytest.approx(SLO_BUDGETS)
    assert set(SLO_BUDGETS) == {slo.name for slo in objectives(DEFAULT_CONFIG)}


def test_panel_ids_follow_the_reading_order_and_rows_come_after() -> None:
    assert panel_link("themis-cluster-overview", "Golden Signals per Shard").endswith("viewPanel=1")
    assert panel_link("themis-cluster-overview", "Total Throughput").endswith("viewPanel=2")
    data = _rendered()["themis-cluster-overview"]
    panel_ids = [p["id"] for p in panels_of(data)]
    assert panel_ids == list(range(1, len(panel_ids) + 1))
    assert min(p["id"] for p in data["panels"] if p["type"] == "row") > len(panel_ids)


def test_panel_helpers_resolve_series_through_the_catalogue() -> None:
    assert metric("themis_inference_latency_seconds_bucket").name == "themis_inference_latency_seconds"
    assert metric("themis_inference_requests_total").name == "themis_inference_requests_total"
    # A counter has no _count series: stripping suffixes by hand used to accept this name.
    with pytest.raises(KeyError):
        metric("themis_inference_requests_total_count")
    with pytest.raises(ValueError, match="needs a counter or a histogram series"):
        rate("themis_vram_usage_bytes")


def test_dashboard_budgets_follow_the_slo_objectives() -> None:
    assert SLO_BUDGETS == {"availability": 0.001, "latency": 0.05}


def test_legends_name_the_cluster_only_where_one_is_configured() -> None:
    # Two chosen clusters each run a shard called legal: a per-series legend must tell them apart.
    plain = rendered()["themis-cluster-overview"]
    clustered = rendered(replace(DEFAULT_CONFIG, cluster="eu-1"))["themis-cluster-overview"]
    for before, after in zip(panels_of(plain), panels_of(clustered), strict=True):
        for old, new in zip(before["targets"], after["targets"], strict=True):
            legend = old["legendFormat"]
            if "{{" in legend and before["type"] not in ("table", "barchart"):
                assert new["legendFormat"] == "{{cluster}} " + legend, (before["title"], new)
            else:
                assert new["legendFormat"] == legend, (before["title"], new)
    memory = next(p for p in panels_of(clustered) if p["title"] == "Shard Process Memory")
    assert memory["targets"][0]["legendFormat"] == "{{cluster}} {{shard}}"
