"""Distributed Reasoning: chain-of-thought, parallel DAGs and multi-perspective consensus (seed 000, dashboard 5)."""

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
    Transformation,
)
from observatory.dashboards.panels import (
    BLUE,
    GREEN,
    RED,
    bucket_distribution,
    gauge,
    increase,
    matrix,
    mean,
    metric_panel,
    percent,
    quantile,
    rises_to,
    series_to_rows,
    share_panel,
    table_columns,
    target_stat,
)

SEQUENTIAL, PARALLEL = 'mode="sequential"', 'mode="parallel"'
STEP_START = gauge("themis_reasoning_step_start_timestamp_seconds", by=("step",), op="max")
STEP_END = gauge("themis_reasoning_step_end_timestamp_seconds", by=("step",), op="max")
# Bars start at the earliest step start shown. A step still running has no end after its start yet.
STEP_OFFSET = f"{STEP_START} - scalar(min({STEP_START}))"
STEP_DURATION = f"({STEP_END} - {STEP_START}) >= 0 or on (cluster, step) (time() - {STEP_START})"
# DAGs run minutes apart at most: over an hour both modes have runs to compare, where a rate window has none.
SPEEDUP_WINDOW = "1h"
_PARALLEL_MEAN = mean("themis_distributed_cot_latency_seconds", PARALLEL, window=SPEEDUP_WINDOW)
_SEQUENTIAL_MEAN = mean("themis_distributed_cot_latency_seconds", SEQUENTIAL, window=SPEEDUP_WINDOW)


def _seed_panels(config: ObservatoryConfig) -> tuple[Panel, ...]:
    p = config.panels
    return (
        metric_panel(
            "Chain-of-Thought Steps Executed",
            PanelKind.STAT,
            "themis_cot_steps_executed_total",
            Target(
                increase("themis_cot_steps_executed_total", by=("reasoning_depth",)),
                "{{reasoning_depth}}-step",
                instant=True,
            ),
            note="Steps over the dashboard's range, split by chain length (5, 10, 20 steps). The seed's counter "
            "panel is a stat of the increase.",
        ),
        metric_panel(
            "Parallel Execution Speedup",
            PanelKind.TIMESERIES,
            "themis_distributed_cot_latency_seconds",
            Target(_PARALLEL_MEAN, "parallel"),
            Target(_SEQUENTIAL_MEAN, "sequential"),
            Target(
                f"({_SEQUENTIAL_MEAN}) / ({_PARALLEL_MEAN})",
                "speedup (sequential / parallel)",
                unit="suffix:×",
                right_axis=True,
            ),
            note=f"Mean wall time per mode over the trailing {SPEEDUP_WINDOW}, so that a point has runs of both "
            "modes to compare (a rate window of a few scrapes mostly holds none); on the right axis the speedup, "
            "sequential over parallel, wherever both modes ran.",
        ),
        bucket_distribution(
            "Multi-Perspective Consensus Time",
            "themis_multi_perspective_consensus_latency_seconds",
            "Seed buckets 0-500 ms, 500 ms-1 s, 1-2 s, 2-5 s, >5 s are the catalogue's 0.5, 1, 2, 5 s bounds. "
            f"Target: {percent(p.consensus_target_share)} of consensus rounds under "
            f"{number(p.reasoning_consensus_target_seconds)} s.",
        ),
        metric_panel(
            "Hierarchical Decomposition Depth",
            PanelKind.BAR_CHART,
            "themis_hierarchical_task_depth",
            Target(
                increase("themis_hierarchical_task_depth_bucket", by=("le",)),
                "{{le}}",
                instant=True,
                format=QueryFormat.HEATMAP,
            ),
            note="Tasks per depth bucket (1, 2, 3, 4, 5, 8 levels) over the dashboard's range, one bar per bucket "
            "named by its deepest level.",
            transformations=series_to_rows(),
            unit="short",
        ),
        Panel(
            "Reasoning Task Success Rate",
            PanelKind.STAT,
            "Share of reasoning tasks that finished successfully over the dashboard's range "
            "(themis_reasoning_task_success_total over themis_reasoning_task_total). Target above"
            f" {percent(p.reasoning_success_target_ratio)}.",
            "percentunit",
            (
                Target(
                    f"{increase('themis_reasoning_task_success_total')}"
                    f" / ({increase('themis_reasoning_task_total')} > 0)",
                    "success rate",
                    instant=True,
                ),
            ),
            thresholds=(Threshold(RED), Threshold(GREEN, p.reasoning_success_target_ratio)),
            min=0,
            max=1,
        ),
        Panel(
            "DAG Execution Timeline (Gantt Chart)",
            PanelKind.BAR_CHART,
            "The latest run of each reasoning step (the last DAG's steps, where the orchestrator drops the previous "
            "DAG's when a new one starts), one bar per step from its start to its end: the bar begins at the step's "
            "start (themis_reasoning_step_start_timestamp_seconds) counted from the earliest start shown, and is as "
            "long as the step ran (themis_reasoning_step_end_timestamp_seconds minus the start; a step still running "
            "grows until now). Steps of one level overlap, bottlenecks are long bars. Read from the timestamps, not "
            "sampled over time, so a step shorter than the scrape interval shows at its real length. The seed's "
            "custom Gantt visualisation is a plugin; Grafana's core bar chart, horizontal with a transparent "
            "offset stacked before each duration, is the nearest.",
            "s",
            (
                Target(STEP_OFFSET, "start", instant=True, format=QueryFormat.TABLE, color="transparent"),
                Target(STEP_DURATION, "duration", instant=True, format=QueryFormat.TABLE, color=BLUE),
            ),
            transformations=(
                *table_columns({"Value #A": "start", "Value #B": "duration"}),
                Transformation("sortBy", {"sort": [{"field": "start", "desc": False}]}),
            ),
            horizontal=True,
            width=24,
            height=10,
        ),
        metric_panel(
            "Perspective Agreement Matrix",
            PanelKind.TABLE,
            "themis_perspective_agreement_ratio",
            Target(
                gauge("themis_perspective_agreement_ratio", by=("perspective_a", "perspective_b"), op="avg"),
                instant=True,
                format=QueryFormat.TABLE,
            ),
            note="Perspective A in rows, B in columns, coloured from red (0 %, complete disagreement) to green"
            " (100 %). "
            "Typical healthy diversity: 60-80 %. The seed's heatmap needs categorical axes, so it is a table turned "
            "into a matrix with colour-scaled cells.",
            color_scheme="continuous-RdYlGr",
            transformations=matrix("perspective_a", "perspective_b"),
            min=0,
            max=1,
        ),
        share_panel(
            "Task Complexity Distribution",
            "themis_reasoning_task_total",
            "complexity",
            "Share of tasks per complexity (simple <5 steps, medium 5-10, complex >10) over the dashboard's range.",
        ),
    )


def _extra_panels(config: ObservatoryConfig) -> tuple[Panel, ...]:
    p = config.panels
    return (
        metric_panel(
            "Reasoning Task Duration p95",
            PanelKind.TIMESERIES,
            "themis_reasoning_task_duration_seconds",
            Target(quantile(0.95, "themis_reasoning_task_duration_seconds", by=("task_type",)), "{{task_type}}"),
            note="p95 per reasoning strategy.",
            thresholds=rises_to(p.reasoning_duration_yellow_seconds, p.reasoning_duration_red_seconds),
        ),
        metric_panel(
            "DAG Step Durations",
            PanelKind.BAR_GAUGE,
            "themis_reasoning_step_end_timestamp_seconds",
            Target(f"({STEP_END} - {STEP_START}) >= 0", "{{step}}", instant=True),
            note="Shown as the latest finished run's duration per step (end minus start).",
            unit="s",
        ),
        metric_panel(
            "Durable Task Queue",
            PanelKind.TIMESERIES,
            "themis_orchestrator_task_queue_depth",
            Target(gauge("themis_orchestrator_task_queue_depth", by=(), op="max"), "queued tasks"),
            Target(increase("themis_orchestrator_store_conflicts_total"), "stale writes refused"),
            note="With the progress writes the store refused from stale owners over the range "
            "(themis_orchestrator_store_conflicts_total): any is a takeover a slow replica lost.",
        ),
    )


def _target_panels(config: ObservatoryConfig) -> tuple[Panel, ...]:
    p = config.panels
    return (
        target_stat(
            f"Consensus Rounds under {number(p.reasoning_consensus_target_seconds)} s",
            "themis_multi_perspective_consensus_latency_seconds",
            p.reasoning_consensus_target_seconds,
            p.consensus_target_share,
            "consensus rounds",
            width=6,
        ),
    )


def dashboard(config: ObservatoryConfig) -> Dashboard:
    """The dashboard for ``config``."""
    return Dashboard(
        uid="themis-distributed-reasoning",
        title="Themis Distributed Reasoning",
        description="Multi-step reasoning across shards: chain-of-thought, parallel DAG execution and consensus.",
        tags=("themis", "reasoning"),
        rows=(
            Row("Chains, DAGs and consensus", _seed_panels(config)),
            Row("Seed targets", _target_panels(config)),
            Row("Durations", _extra_panels(config)),
        ),
    )
