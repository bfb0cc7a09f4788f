"""Distributed Reasoning: chain-of-thought, parallel DAGs and multi-perspective consensus (seed 000, dashboard 5)."""

from __future__ import annotations

from observatory.dashboards.model import Dashboard, Panel, PanelKind, QueryFormat, Target, Threshold, ValueMapping
from observatory.dashboards.panels import (
    BLUE,
    GREEN,
    RED,
    YELLOW,
    bucket_distribution,
    gauge,
    increase,
    matrix,
    mean,
    metric_panel,
    quantile,
    series_to_rows,
    share_panel,
)

SEQUENTIAL, PARALLEL = 'mode="sequential"', 'mode="parallel"'
STEP_START = gauge("themis_reasoning_step_start_timestamp_seconds", by=("step",), op="max")
STEP_END = gauge("themis_reasoning_step_end_timestamp_seconds", by=("step",), op="max")

SEED_PANELS = (
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
        Target(mean("themis_distributed_cot_latency_seconds", PARALLEL), "parallel"),
        Target(mean("themis_distributed_cot_latency_seconds", SEQUENTIAL), "sequential"),
        Target(
            f"({mean('themis_distributed_cot_latency_seconds', SEQUENTIAL)})"
            f" / ({mean('themis_distributed_cot_latency_seconds', PARALLEL)})",
            "speedup (sequential / parallel)",
            unit="suffix:×",
            right_axis=True,
        ),
        note="Mean wall time per mode; on the right axis the speedup, sequential over parallel.",
    ),
    bucket_distribution(
        "Multi-Perspective Consensus Time",
        "themis_multi_perspective_consensus_latency_seconds",
        "Seed buckets 0-500 ms, 500 ms-1 s, 1-2 s, 2-5 s, >5 s are the catalogue's 0.5, 1, 2, 5 s bounds. "
        "Target: 90 % of consensus rounds under 1 s.",
    ),
    metric_panel(
        "Hierarchical Decomposition Depth",
        PanelKind.BAR_CHART,
        "themis_hierarchical_task_depth",
        Target(
            increase("themis_hierarchical_task_depth_bucket", by=("le",)),
            "≤ {{le}} levels",
            instant=True,
            format=QueryFormat.HEATMAP,
        ),
        note="Tasks per depth bucket (1, 2, 3, 4, 5, 8 levels) over the dashboard's range, one bar per bucket.",
        transformations=series_to_rows(),
        unit="short",
    ),
    Panel(
        "Reasoning Task Success Rate",
        PanelKind.STAT,
        "Share of reasoning tasks that finished successfully over the dashboard's range "
        "(themis_reasoning_task_success_total over themis_reasoning_task_total). Target above 95 %.",
        "percentunit",
        (
            Target(
                f"{increase('themis_reasoning_task_success_total')} / {increase('themis_reasoning_task_total')}",
                "success rate",
                instant=True,
            ),
        ),
        thresholds=(Threshold(RED), Threshold(GREEN, 0.95)),
        min=0,
        max=1,
    ),
    Panel(
        "DAG Execution Timeline (Gantt Chart)",
        PanelKind.STATE_TIMELINE,
        "One row per reasoning step, coloured while the step runs: its latest start "
        "(themis_reasoning_step_start_timestamp_seconds) is later than its latest end "
        "(themis_reasoning_step_end_timestamp_seconds). Parallel steps overlap, bottlenecks are long bars. "
        "The seed's custom Gantt visualisation is a plugin; Grafana's core state timeline is the nearest.",
        "short",
        (Target(f"{STEP_START} > bool {STEP_END}", "{{step}}"),),
        mappings=(ValueMapping(1, "running", BLUE), ValueMapping(0, "idle", "transparent")),
        thresholds=(Threshold("transparent"), Threshold(BLUE, 1)),
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
        note="Perspective A in rows, B in columns, coloured from red (0 %, complete disagreement) to green (100 %). "
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

EXTRA_PANELS = (
    metric_panel(
        "Reasoning Task Duration p95",
        PanelKind.TIMESERIES,
        "themis_reasoning_task_duration_seconds",
        Target(quantile(0.95, "themis_reasoning_task_duration_seconds", by=("task_type",)), "{{task_type}}"),
        note="p95 per reasoning strategy.",
        thresholds=(Threshold(GREEN), Threshold(YELLOW, 60), Threshold(RED, 300)),
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

DASHBOARD = Dashboard(
    uid="themis-distributed-reasoning",
    title="Themis Distributed Reasoning",
    description="Multi-step reasoning across shards: chain-of-thought, parallel DAG execution and consensus.",
    tags=("themis", "reasoning"),
    panels=SEED_PANELS + EXTRA_PANELS,
)
