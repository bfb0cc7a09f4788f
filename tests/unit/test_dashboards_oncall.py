"""The generated JSON gives on-call what it needs first, and Grafana honours what it is told.

Each test reads the files ``observatory generate`` writes; expected values come from the
configuration and from what Grafana does with a field, not from the dashboards' own constants.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest

from observatory.config import DEFAULT_CONFIG, seconds
from support.dashboards import generated, panels_of, rendered

DASHBOARDS = rendered()
PANELS = {(uid, p["title"]): p for uid, data in DASHBOARDS.items() for p in panels_of(data)}
BY_TITLE = {title: panel for (_, title), panel in PANELS.items()}


def _steps(thresholds: dict) -> list[tuple[str, float | None]]:
    return [(step["color"], step.get("value")) for step in thresholds["steps"]]


def _override(panel: dict, target_legend: str) -> dict[str, object]:
    """The override properties of one query's series (by refId) or table column (by name)."""
    ref = next(t["refId"] for t in panel["targets"] if t["legendFormat"] == target_legend)
    props = {}
    for override in panel["fieldConfig"]["overrides"]:
        if override["matcher"]["options"] in (ref, target_legend):
            props.update({p["id"]: p["value"] for p in override["properties"]})
    return props


def test_links_keep_the_time_range_and_the_chosen_variables() -> None:
    for data in DASHBOARDS.values():
        assert data["links"]
        assert all(link["includeVars"] and link["keepTime"] for link in data["links"])


def test_pie_charts_are_instant_queries() -> None:
    pies = [p for p in PANELS.values() if p["type"] == "piechart"]
    assert len(pies) == 4
    for pie in pies:
        assert all(t["instant"] and not t["range"] for t in pie["targets"]), pie["title"]


def test_heatmaps_count_each_step_once_with_options_grafana_reads() -> None:
    heatmaps = [p for p in PANELS.values() if p["type"] == "heatmap"]
    assert {p["title"] for p in heatmaps} >= {
        "Search Latency Distribution",
        "Batch Size Utilization (Continuous Batching)",
    }
    for panel in heatmaps:
        [target] = panel["targets"]
        # One step's increase per cell: windows as long as the step never overlap.
        assert "[$__interval]" in target["expr"] and target["format"] == "heatmap"
        # ... and at least two scrapes long, so that increase() has two samples in each.
        assert seconds(panel["interval"]) >= 2 * seconds(DEFAULT_CONFIG.prometheus.scrape_interval)
        # The heatmap reads its scheme from options.color and its axis unit from options.yAxis; the cells count.
        assert panel["options"]["color"]["mode"] == "scheme"
        assert panel["options"]["yAxis"]["unit"] == "s" or panel["title"].startswith(("Batch", "Prompt", "Generation"))
        assert panel["fieldConfig"]["defaults"]["unit"] == "short"
        assert "color" not in panel["fieldConfig"]["defaults"]
        assert panel["options"]["rowsFrame"]["layout"] == "le"


def test_bucket_legends_are_bare_bounds_grafana_can_order() -> None:
    for panel in PANELS.values():
        for target in panel["targets"]:
            if "_bucket" in target["expr"] and target["format"] == "heatmap":
                assert target["legendFormat"] == "{{le}}", panel["title"]


# Seed 000's targets stated as shares under a bound: (dashboard, bound in seconds, share).
SEED_TARGETS = {
    "Consensus Rounds under 0.5 s": ("themis-inter-cerebral", 0.5, 0.9),  # <500ms for 90% of queries
    "Consensus Rounds under 1 s": ("themis-distributed-reasoning", 1.0, 0.9),  # <1s for 90% of queries
    "LoRA Switches under 100 ms": ("themis-llm-inference", 0.1, 0.95),  # <100ms for 95% of switches
    "Searches under 10 ms": ("themis-vector-search", 0.01, 0.95),  # <10ms for 95% of queries (GPU)
}


@pytest.mark.parametrize(("title", "target"), SEED_TARGETS.items())
def test_each_seed_target_has_a_share_under_it(title: str, target: tuple[str, float, float]) -> None:
    uid, bound, share = target
    panel = PANELS[(uid, title)]
    [query] = panel["targets"]
    assert panel["type"] == "stat" and query["instant"]
    # The bucket at the bound, as written with or without a trailing .0, over all observations.
    le = re.search(r'le=~"([^"]+)"', query["expr"]).group(1)
    assert re.fullmatch(le.replace("\\\\", "\\"), f"{bound}") and re.fullmatch(le.replace("\\\\", "\\"), f"{bound:g}")
    assert "_count" in query["expr"] and "> 0)" in query["expr"]
    assert _steps(panel["fieldConfig"]["defaults"]["thresholds"]) == [("red", None), ("green", share)]


def test_per_shard_series_link_to_every_dashboard_filtered_to_their_shard() -> None:
    tokens = BY_TITLE["Tokens per Second"]["fieldConfig"]["defaults"]["links"]
    assert {link["url"].split("?")[0] for link in tokens} == {
        f"/d/{uid}/{uid.removeprefix('themis-')}" for uid in DASHBOARDS
    }
    for link in tokens:
        assert "var-shard=${__field.labels.shard}" in link["url"]
        assert "${__url_time_range}" in link["url"] and "var-datasource=${datasource}" in link["url"]
    golden = BY_TITLE["Golden Signals per Shard"]["fieldConfig"]["defaults"]["links"]
    assert all("var-shard=${__data.fields.shard}" in link["url"] for link in golden)
    # A cluster-wide series names no shard: no link pretends it does.
    assert BY_TITLE["Queries Processed (Total)"]["fieldConfig"]["defaults"]["links"] == []


def test_panels_an_alert_points_at_link_to_its_runbook() -> None:
    links = {link["title"]: link["url"] for link in BY_TITLE["Tokens per Second"]["links"]}
    base = DEFAULT_CONFIG.links.runbook_url
    assert links["Runbook: ThemisTokenGenerationLow"] == f"{base}#themistokengenerationlow"
    health = {link["title"] for link in BY_TITLE["Shard Health Heatmap"]["links"]}
    assert "Runbook: ThemisShardDown" in health
    assert BY_TITLE["Index Operations"].get("links", []) == []


def test_firing_alerts_and_restarts_are_annotations() -> None:
    for data in DASHBOARDS.values():
        annotations = {a["name"]: a for a in data["annotations"]["list"]}
        assert 'alertstate="firing"' in annotations["Firing alerts"]["expr"]
        assert annotations["Firing alerts"]["expr"].startswith("ALERTS{")
        assert "themis_shard_start_time_seconds" in annotations["Shard restarts"]["expr"]
        assert all(a["enable"] and a["datasource"]["uid"] == "${datasource}" for a in annotations.values())


def test_rows_group_every_dashboard() -> None:
    for uid, data in DASHBOARDS.items():
        rows = [p for p in data["panels"] if p["type"] == "row"]
        assert len(rows) >= 1, uid
        # Each row header sits above its panels: nothing shares a row header's grid line.
        for row in rows:
            assert row["gridPos"]["w"] == 24
            same_line = [p for p in data["panels"] if p is not row and p["gridPos"]["y"] == row["gridPos"]["y"]]
            assert same_line == [], uid
    titles = [p["title"] for p in DASHBOARDS["themis-cluster-overview"]["panels"] if p["type"] == "row"]
    assert titles[0] == "Golden signals per shard"


def test_import_offers_a_datasource_picker_and_provisioning_still_works() -> None:
    for text in generated().values():
        data = json.loads(text)
        [source] = data["__inputs"]
        assert (source["type"], source["pluginId"]) == ("datasource", "prometheus")
        # Import replaces ${DS_PROMETHEUS} with the chosen source: only the datasource variable's default holds it,
        # so provisioning and the sidecar, which replace nothing, fall back to the default Prometheus.
        assert text.count("${" + source["name"] + "}") == 2  # current text and value
        variable = next(v for v in data["templating"]["list"] if v["name"] == "datasource")
        assert variable["current"]["value"] == "${DS_PROMETHEUS}"
        for panel in panels_of(data):
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}


def test_the_cluster_variable_is_optional_and_defaults_to_all() -> None:
    variable = next(v for v in DASHBOARDS["themis-cluster-overview"]["templating"]["list"] if v["name"] == "cluster")
    assert (variable["type"], variable["hide"], variable["query"]) == ("constant", 2, ".*")
    configured = rendered(replace(DEFAULT_CONFIG, cluster="eu-1"))["themis-cluster-overview"]
    variable = next(v for v in configured["templating"]["list"] if v["name"] == "cluster")
    assert variable["type"] == "query" and variable["includeAll"] and variable["allValue"] == ".*"
    assert variable["current"]["value"] == "$__all"
    assert all(
        'cluster=~"$cluster"' in t["expr"] for p in panels_of(configured) for t in p["targets"] if "{" in t["expr"]
    )


def test_golden_signals_open_the_overview_coloured_by_the_alert_thresholds() -> None:
    first = next(p for p in DASHBOARDS["themis-cluster-overview"]["panels"] if p["type"] != "row")
    assert first["title"] == "Golden Signals per Shard" and first["gridPos"]["y"] == 1
    t = DEFAULT_CONFIG.thresholds
    expected = {
        "Error ratio": [("green", None), ("yellow", t.error_ratio_warning), ("red", t.error_ratio_critical)],
        "p95 latency": [("green", None), ("red", t.latency_p95_seconds)],
        "VRAM used": [("green", None), ("red", t.vram_usage_ratio)],
    }
    for column, steps in expected.items():
        assert _steps(_override(first, column)["thresholds"]) == steps, column
    assert first["fieldConfig"]["defaults"]["custom"]["cellOptions"]["type"] == "color-background"
    columns = {t["legendFormat"] for t in first["targets"]}
    assert {"Requests/s", "Error ratio", "p95 latency", "In flight / capacity", "VRAM used", "Health"} == columns


def test_utilisation_is_one_line_per_shard_with_reference_lines() -> None:
    panel = BY_TITLE["CPU/GPU Utilization"]
    assert panel["fieldConfig"]["defaults"]["custom"]["stacking"]["mode"] == "none"
    assert panel["fieldConfig"]["defaults"]["max"] == 1
    assert _override(panel, "CPU mean")["custom.lineStyle"]["fill"] == "dash"
    faiss = BY_TITLE["GPU Memory Usage (FAISS-specific)"]
    assert faiss["fieldConfig"]["defaults"]["custom"]["stacking"]["mode"] == "none"
    total = _override(faiss, "VRAM total {{shard}}")
    assert total["custom.lineStyle"]["fill"] == "dash" and total["custom.stacking"]["mode"] == "none"
    assert "themis_vram_total_bytes" in next(
        t["expr"] for t in faiss["targets"] if t["legendFormat"].startswith("VRAM")
    )


def test_throughput_counts_successes_with_failures_beside_it() -> None:
    panel = BY_TITLE["Total Throughput"]
    exprs = {t["legendFormat"]: t["expr"] for t in panel["targets"]}
    assert 'status="success"' in exprs["inference"] and 'status="success"' in exprs["vector search"]
    assert "server_error" in exprs["failed"] and 'status="rejected"' in exprs["rejected (429)"]
    # Failures are beside the throughput, not part of it: dashed, not stacked onto it.
    assert _override(panel, "failed")["custom.lineStyle"]["fill"] == "dash"


def test_topology_health_counts_every_shard_target() -> None:
    [target] = BY_TITLE["Network Topology Health"]["targets"]
    assert f'up{{cluster=~"$cluster", job="{DEFAULT_CONFIG.jobs.shards}", shard=~"$shard"}}' in target["expr"]


def test_the_dag_timeline_shows_each_steps_start_and_duration() -> None:
    panel = BY_TITLE["DAG Execution Timeline (Gantt Chart)"]
    assert panel["type"] == "barchart" and panel["options"]["orientation"] == "horizontal"
    assert panel["options"]["stacking"] == "normal"
    start, duration = panel["targets"]
    # Read at one instant from the timestamps, so a step shorter than a scrape shows at its real length.
    assert start["instant"] and duration["instant"]
    assert "themis_reasoning_step_start_timestamp_seconds" in start["expr"] and "scalar(min(" in start["expr"]
    assert "themis_reasoning_step_end_timestamp_seconds" in duration["expr"]
    assert _override(panel, "start")["color"] == {"fixedColor": "transparent", "mode": "fixed"}


def test_break_even_accumulates_from_the_range_start_against_the_purchase_price() -> None:
    panel = BY_TITLE["ROI Timeline (Break-Even Tracking)"]
    savings, purchase = panel["targets"]
    assert "@ start()" in savings["expr"] and "themis_gpu_info" not in savings["expr"]
    assert f"* {DEFAULT_CONFIG.costs.gpu_purchase_eur:g}" in purchase["expr"]
    assert _override(panel, purchase["legendFormat"])["custom.lineStyle"]["fill"] == "dash"


def test_speedup_compares_modes_over_a_window_both_have_runs_in() -> None:
    panel = BY_TITLE["Parallel Execution Speedup"]
    speedup = next(t["expr"] for t in panel["targets"] if t["legendFormat"].startswith("speedup"))
    assert "[1h]" in speedup and "$__rate_interval" not in speedup
    assert speedup.count("> 0)") == 2


def test_cost_defaults_to_a_month_and_reads_recorded_hourly_amounts() -> None:
    data = DASHBOARDS["themis-cost-roi"]
    assert data["time"]["from"] == "now-30d"
    assert [v["name"] for v in data["templating"]["list"] if v["type"] == "textbox"] == []
    for panel in panels_of(data):
        for target in panel["targets"]:
            # No raw counter window of a day or more: multi-day sums read recorded hourly increases.
            assert not re.search(r"_total\{[^}]*\}\[\d+[dw]\]", target["expr"]), (panel["title"], target["expr"])
            assert "$" not in re.sub(r"\$(__\w+|\{__\w+\}|cluster|shard)", "", target["expr"]), target["expr"]
    retention = seconds(DEFAULT_CONFIG.prometheus.retention)
    exprs = [t["expr"] for p in panels_of(data) for t in p["targets"]]
    windows = [seconds(w) for expr in exprs for w in re.findall(r"\[(\d+[smhdw])", expr)]
    assert windows and max(windows) <= retention
    for title in ("Savings vs. GPT-4 (Daily)", "Electricity Cost"):
        assert PANELS[("themis-cost-roi", title)]["fieldConfig"]["defaults"]["custom"]["axisLabel"] == "€/day"
