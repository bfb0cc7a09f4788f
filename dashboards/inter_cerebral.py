"""Inter-Cerebral Communication: shard-to-shard traffic, LoRA sharing and consensus (seed 000, dashboard 2)."""

from __future__ import annotations

from observatory.config import ObservatoryConfig, number
from observatory.dashboards.golden_signals import topology_health
from observatory.dashboards.model import Dashboard, Panel, PanelKind, QueryFormat, Row, Target, Threshold
from observatory.dashboards.panels import (
    GREEN,
    RED,
    bucket_distribution,
    edges,
    falls_below,
    increase,
    matrix,
    mean,
    metric_panel,
    percent,
    rate,
    table_columns,
    target_stat,
)

PAIR = ("source_shard", "destination_shard")
FROM_SELECTED = 'source_shard=~"$shard"'

QUERY_FLOW = (
    f"{edges(rate('themis_cross_shard_queries_total', FROM_SELECTED, by=PAIR), *PAIR)}"
    f" or {edges(rate('themis_federated_queries_total', by=('shard',)), '', 'shard', source='orchestrator')}"
)

# The node graph draws an edge `thickness` pixels wide. The seed sizes edges by queries per second: the
# busiest edge gets EDGE_WIDTH, the rest their share of it, at least 1 px so that a quiet edge stays visible.
EDGE_WIDTH = 8
QUERY_FLOW_WIDTH = f"clamp_min({EDGE_WIDTH} * ({QUERY_FLOW}) / scalar(max({QUERY_FLOW})), 1)"


def _seed_panels(config: ObservatoryConfig) -> tuple[Panel, ...]:
    p = config.panels
    return (
        metric_panel(
            "LoRA Transfer Activity",
            PanelKind.BAR_GAUGE,
            "themis_lora_transfer_bytes_total",
            Target(
                increase("themis_lora_transfer_bytes_total", FROM_SELECTED, by=PAIR),
                "{{source_shard}} → {{destination_shard}}",
                instant=True,
            ),
            note="One bar per source → destination flow, its length the volume moved over the dashboard's range. "
            "The seed asks for a Sankey diagram, which is a plugin; a horizontal bar gauge is the nearest core "
            "panel that sizes flows by volume.",
        ),
        metric_panel(
            "Shard Collaboration Matrix",
            PanelKind.TABLE,
            "themis_cross_shard_queries_total",
            Target(
                rate("themis_cross_shard_queries_total", FROM_SELECTED, by=PAIR, window="10m"),
                "queries/s",
                instant=True,
                format=QueryFormat.TABLE,
            ),
            note="Queries per second over 10 minutes, source shard across (x, columns), destination shard down (y, "
            "rows), coloured blue (0) to red (high). The seed's 2D heatmap needs categorical axes, which Grafana's "
            "heatmap lacks; a table turned into a matrix (grouping-to-matrix) with colour-scaled cells is the core "
            "equivalent.",
            per_second=True,
            color_scheme="continuous-BlYlRd",
            # The colour scale starts at 0, not at the smallest rate shown, so blue means no queries as the seed says.
            min=0,
            transformations=matrix(rows="destination_shard", columns="source_shard"),
        ),
        Panel(
            "Federated RAG Query Flow",
            PanelKind.NODE_GRAPH,
            "Directed graph of query flow: edges orchestrator → shard carry federated RAG sub-queries per second "
            "(themis_federated_queries_total), edges shard → shard the cross-shard queries per second "
            "(themis_cross_shard_queries_total); an edge's main stat is its queries per second and its width is "
            f"proportional to them (the busiest edge {EDGE_WIDTH} px). Grafana's core node graph panel builds the "
            "nodes from the edges' source and target fields.",
            "reqps",
            (
                Target(QUERY_FLOW, instant=True, format=QueryFormat.TABLE),
                Target(QUERY_FLOW_WIDTH, instant=True, format=QueryFormat.TABLE),
            ),
            transformations=table_columns(
                {"Value #A": "mainstat", "Value #B": "thickness"},
                hidden=("Time", "source_shard", "destination_shard", "shard"),
            ),
            height=10,
        ),
        metric_panel(
            "LoRA Cache Hit Rate",
            PanelKind.TIMESERIES,
            "themis_lora_cache_hits_total",
            Target(
                f"{rate('themis_lora_cache_hits_total', by=('shard',))}"
                f" / {rate('themis_lora_cache_requests_total', by=('shard',))}",
                "{{shard}}",
            ),
            note="Shown per shard as hits over cache requests (themis_lora_cache_requests_total). Target above"
            f" {percent(p.lora_cache_hit_target_ratio)} (warm cache): red below, green from there.",
            unit="percentunit",
            thresholds=(Threshold(RED), Threshold(GREEN, p.lora_cache_hit_target_ratio)),
            min=0,
            max=1,
        ),
        bucket_distribution(
            "Consensus Latency (Multi-Perspective)",
            "themis_multi_perspective_consensus_latency_seconds",
            "Seed buckets 0-100 ms, 100-500 ms, 500 ms-1 s, 1-5 s, >5 s are the catalogue's 0.1, 0.5, 1, 5 s bounds "
            "(2 and 10 s added). Target: "
            f"{percent(p.consensus_target_share)} of consensus rounds under {number(p.consensus_target_seconds)} s.",
        ),
        metric_panel(
            "Orchestrator Task Distribution",
            PanelKind.PIE_CHART,
            "themis_orchestrator_tasks_total",
            Target(rate("themis_orchestrator_tasks_total", by=("domain",), window="10m"), "{{domain}}", instant=True),
            note="Share of tasks per domain (legal, finance, medical, technical, other), per second over 10 minutes.",
            per_second=True,
        ),
        metric_panel(
            "Cross-Shard Message Rate",
            PanelKind.TIMESERIES,
            "themis_cross_shard_messages_total",
            Target(rate("themis_cross_shard_messages_total", FROM_SELECTED, by=("message_type",)), "{{message_type}}"),
            note="Messages per second by type (lora_request, federated_query, consensus_vote).",
            per_second=True,
        ),
        Panel(
            "Network Topology Health",
            PanelKind.STAT,
            "Share of the selected shards whose themis_shard_health_status is 1 (healthy), out of every shard with "
            f"a scrape target in job {config.jobs.shards}: a shard whose target does not answer exposes no health "
            "at all and counts as not healthy (the seed's count over the health series alone reads 100 % while a "
            f"shard is dead). Red below {percent(p.network_health_red_ratio)}, yellow below"
            f" {percent(p.network_health_green_ratio)}, green from {percent(p.network_health_green_ratio)}.",
            "percentunit",
            (Target(topology_health(config), "healthy shards"),),
            thresholds=falls_below(p.network_health_red_ratio, p.network_health_green_ratio),
            min=0,
            max=1,
        ),
    )


EXTRA_PANELS = (
    metric_panel(
        "LoRA Transfers",
        PanelKind.TIMESERIES,
        "themis_lora_transfers_total",
        Target(rate("themis_lora_transfers_total", FROM_SELECTED, by=PAIR), "{{source_shard}} → {{destination_shard}}"),
        note="Transfers per second.",
        per_second=True,
    ),
    metric_panel(
        "Federated Query Fan-Out",
        PanelKind.TIMESERIES,
        "themis_federated_query_shards",
        Target(mean("themis_federated_query_shards"), "mean shards per query"),
    ),
    metric_panel(
        "Orchestrator Failovers",
        PanelKind.TIMESERIES,
        "themis_orchestrator_failovers_total",
        Target(rate("themis_orchestrator_failovers_total", by=("domain",)), "{{domain}} failed over"),
        Target(rate("themis_orchestrator_unroutable_requests_total", by=("domain",)), "{{domain}} unroutable (503)"),
        note="Per second by domain, with the requests no shard could answer "
        "(themis_orchestrator_unroutable_requests_total).",
        per_second=True,
    ),
)


def _target_panels(config: ObservatoryConfig) -> tuple[Panel, ...]:
    p = config.panels
    return (
        target_stat(
            f"Consensus Rounds under {number(p.consensus_target_seconds)} s",
            "themis_multi_perspective_consensus_latency_seconds",
            p.consensus_target_seconds,
            p.consensus_target_share,
            "consensus rounds",
            width=6,
        ),
    )


def dashboard(config: ObservatoryConfig) -> Dashboard:
    """The dashboard for ``config``."""
    return Dashboard(
        uid="themis-inter-cerebral",
        title="Themis Inter-Cerebral Communication",
        description="Brain-inspired view of shard-to-shard communication: LoRA sharing, federated RAG and consensus.",
        tags=("themis", "inter-cerebral"),
        rows=(
            Row("Shard-to-shard communication", _seed_panels(config)),
            Row("Seed targets", _target_panels(config)),
            Row("Transfers and fan-out", EXTRA_PANELS),
        ),
    )
