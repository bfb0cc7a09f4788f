"""Vector Search: FAISS query rate, latency, recall and memory (seed 000, dashboard 4)."""

from __future__ import annotations

from observatory.config import ObservatoryConfig, number
from observatory.dashboards.model import (
    Dashboard,
    Panel,
    PanelKind,
    QueryFormat,
    Row,
    Target,
    Threshold,
    ThresholdMode,
)
from observatory.dashboards.panels import (
    GREEN,
    RED,
    YELLOW,
    bucket_heatmap,
    falls_below,
    gauge,
    mean,
    metric_panel,
    percent,
    quantile,
    rate,
    rises_to,
    rows_to_fields,
    table_columns,
    target_stat,
    unit_of,
)


def _seed_panels(config: ObservatoryConfig) -> tuple[Panel, ...]:
    p = config.panels
    return (
        metric_panel(
            "Queries per Second (QPS)",
            PanelKind.TIMESERIES,
            "themis_vector_search_queries_total",
            Target(rate("themis_vector_search_queries_total", by=("shard",)), "{{shard}}"),
            note=f"Per shard. Targets: above {number(p.vector_queries_green_per_second)} QPS on a GPU index, above"
            f" {number(p.vector_queries_red_per_second)} QPS on a CPU index (red below"
            f" {number(p.vector_queries_red_per_second)}, yellow below {number(p.vector_queries_green_per_second)}).",
            unit="reqps",
            thresholds=falls_below(p.vector_queries_red_per_second, p.vector_queries_green_per_second),
        ),
        bucket_heatmap(
            "Search Latency Distribution",
            "themis_vector_search_latency_seconds",
            "Queries per latency bucket over time; the seed's 5, 10, 50, 100 ms bounds are the catalogue's 0.005, "
            "0.01, 0.05, 0.1 s buckets. Target: 95 % of queries under 10 ms on a GPU index.",
            scrape_interval=config.prometheus.scrape_interval,
            color_scheme="Oranges",
        ),
        Panel(
            "Index Size in VRAM",
            PanelKind.GAUGE,
            "Size of each shard's FAISS index (themis_faiss_index_size_bytes) in bytes, one gauge per shard whose "
            "full scale is that shard's GPU memory (themis_vram_total_bytes); yellow above "
            f"{number(p.index_vram_yellow_percent)} % of it, the seed's warning bound.",
            unit_of("themis_faiss_index_size_bytes"),
            (
                Target(gauge("themis_faiss_index_size_bytes"), "index", instant=True, format=QueryFormat.TABLE),
                Target(gauge("themis_vram_total_bytes"), "VRAM", instant=True, format=QueryFormat.TABLE),
            ),
            thresholds=(Threshold(GREEN), Threshold(YELLOW, p.index_vram_yellow_percent)),
            # The bound is relative to each shard's own VRAM: a percentage threshold against a per-shard max.
            threshold_mode=ThresholdMode.PERCENTAGE,
            min=0,
            transformations=table_columns({}) + rows_to_fields(name="shard", value="Value #A", maximum="Value #B"),
        ),
        metric_panel(
            "Recall@10 Accuracy",
            PanelKind.TIMESERIES,
            "themis_vector_search_recall_at_10_ratio",
            Target(gauge("themis_vector_search_recall_at_10_ratio", op="avg"), "{{shard}}"),
            note=f"Red below {percent(p.recall_red_ratio)} (acceptable), yellow below {percent(p.recall_green_ratio)}"
            f" (good), green from {percent(p.recall_green_ratio)}.",
            thresholds=falls_below(p.recall_red_ratio, p.recall_green_ratio),
            min=0,
            max=1,
        ),
        Panel(
            "Batch Processing Efficiency",
            PanelKind.TIMESERIES,
            "Mean micro-batch size (themis_vector_search_batch_size) and, on the right axis, index time per query "
            "(themis_vector_search_batch_latency_seconds over the queries batched). Larger batches should lower "
            "the time per query.",
            "short",
            (
                Target(mean("themis_vector_search_batch_size", by=("shard",)), "batch size {{shard}}"),
                Target(
                    f"{rate('themis_vector_search_batch_latency_seconds_sum', by=('shard',))}"
                    f" / {rate('themis_vector_search_batch_size_sum', by=('shard',))}",
                    "time per query {{shard}}",
                    unit="s",
                    right_axis=True,
                ),
            ),
        ),
        metric_panel(
            "Index Operations",
            PanelKind.TIMESERIES,
            "themis_faiss_index_operations_total",
            Target(rate("themis_faiss_index_operations_total", by=("operation",)), "{{operation}}"),
            note="Vectors added and removed per second. The seed's counter panel is a rate graph.",
            unit="ops",
        ),
        Panel(
            "GPU Memory Usage (FAISS-specific)",
            PanelKind.TIMESERIES,
            "Device memory FAISS holds, one line per shard: the index (themis_faiss_index_vram_bytes) plus search "
            "scratch space (themis_faiss_scratch_vram_bytes), and the index alone. Dashed, each shard's GPU memory "
            "(themis_vram_total_bytes): the FAISS total should stay under it. The seed's stacked area would add "
            "shards together, so no line would mean one GPU. Both are 0 for a CPU index.",
            "bytes",
            (
                Target(
                    f"{gauge('themis_faiss_index_vram_bytes')} + {gauge('themis_faiss_scratch_vram_bytes')}",
                    "FAISS total {{shard}}",
                ),
                Target(gauge("themis_faiss_index_vram_bytes"), "index {{shard}}"),
                Target(gauge("themis_vram_total_bytes"), "VRAM total {{shard}}", reference=True),
            ),
            min=0,
        ),
    )


def _extra_panels(config: ObservatoryConfig) -> tuple[Panel, ...]:
    t, p = config.thresholds, config.panels
    return (
        metric_panel(
            "Search Latency p95",
            PanelKind.TIMESERIES,
            "themis_vector_search_latency_seconds",
            Target(quantile(0.95, "themis_vector_search_latency_seconds", by=("shard",)), "{{shard}}"),
            note=f"Target under {number(t.vector_search_p95_seconds * 1000)} ms on a GPU index: yellow from"
            f" {number(t.vector_search_p95_seconds * 1000)} ms (the p95 alert), red from"
            f" {number(p.vector_search_latency_red_seconds * 1000)} ms.",
            thresholds=rises_to(t.vector_search_p95_seconds, p.vector_search_latency_red_seconds),
        ),
        metric_panel(
            "Index Vectors",
            PanelKind.STAT,
            "themis_faiss_index_vectors",
            Target(gauge("themis_faiss_index_vectors"), "{{shard}}"),
        ),
        metric_panel(
            "Search Outcomes",
            PanelKind.TIMESERIES,
            "themis_vector_search_queries_total",
            Target(
                rate("themis_vector_search_queries_total", 'status!="success"', by=("shard", "status")),
                "{{shard}} {{status}}",
            ),
            note="Failed and rejected queries per second.",
            unit="reqps",
            thresholds=(Threshold(GREEN), Threshold(RED, p.search_failures_red_per_second)),
        ),
    )


def _target_panels(config: ObservatoryConfig) -> tuple[Panel, ...]:
    bound = config.thresholds.vector_search_p95_seconds
    return (
        target_stat(
            f"Searches under {number(bound * 1000)} ms",
            "themis_vector_search_latency_seconds",
            bound,
            0.95,
            "vector searches (the p95 target of a GPU index)",
            width=6,
        ),
    )


def dashboard(config: ObservatoryConfig) -> Dashboard:
    """The dashboard for ``config``."""
    return Dashboard(
        uid="themis-vector-search",
        title="Themis Vector Search",
        description="FAISS vector search performance: queries per second, latency, recall and GPU memory.",
        tags=("themis", "vector-search"),
        rows=(
            Row("Search performance and memory", _seed_panels(config)),
            Row("Seed targets", _target_panels(config)),
            Row("Latency and outcomes", _extra_panels(config)),
        ),
    )
