"""What on-call reads first: each shard's health, joined with its scrape target, and its golden signals.

A shard that crashed exposes no series at all, so health read from the shard's own gauge alone
shows nothing, and counts over it read 100 %. Here every configured shard target (``up``) stands
for its shard: a target that does not answer counts as down, one that answers without a health
gauge as unhealthy.
"""

from __future__ import annotations

from observatory.config import ObservatoryConfig, number
from observatory.config.selectors import selector
from observatory.config.vocabulary import LATENCY_QUANTILE, REQUESTS_RATE, SLI_ERRORS, VRAM_USAGE
from observatory.dashboards.model import Panel, PanelKind, QueryFormat, Target, Threshold, ValueMapping
from observatory.dashboards.panels import (
    CLUSTER,
    GREEN,
    RED,
    YELLOW,
    falls_below,
    gauge,
    percent,
    recorded,
    rises_to,
    select,
    table_columns,
)
from observatory.metric import Source

DOWN, UNHEALTHY, DEGRADED, HEALTHY = -1.0, 0.0, 0.5, 1.0
HEALTH_MAPPINGS = (
    ValueMapping(HEALTHY, "healthy", GREEN),
    ValueMapping(DEGRADED, "degraded", YELLOW),
    ValueMapping(UNHEALTHY, "unhealthy", RED),
    ValueMapping(DOWN, "down", RED),
)


def health(config: ObservatoryConfig) -> str:
    """Each shard's health: its own gauge while scraped, 0 when its target answers without one, -1 when down.

    The lowest replica (target) sets the shard's value.
    """
    targets = f'up{{{CLUSTER}, {selector(config, Source.SHARD)}, shard=~"$shard"}}'
    health = select("themis_shard_health_status")
    return f"min by (cluster, shard) ({health} or on (cluster, job, instance) ({targets} - 1))"


def topology_health(config: ObservatoryConfig) -> str:
    """The share of shards whose health is 1, out of every shard a target or a health gauge names."""
    return f"(count(({health(config)}) == 1) or vector(0)) / count({health(config)})"


def shard_health(config: ObservatoryConfig) -> Panel:
    """The seed's health heatmap as a state timeline, red for an unhealthy or a missing shard."""
    return Panel(
        "Shard Health Heatmap",
        PanelKind.STATE_TIMELINE,
        "One row per shard over time: green healthy (themis_shard_health_status 1), yellow degraded (0.5), red "
        "unhealthy (0) or down (its scrape target in job "
        f"{config.jobs.shards} does not answer, so the shard exposes nothing). The lowest replica sets the "
        "shard's colour. The seed names a heatmap; Grafana's heatmap hides cells at 0 and has no row for a shard "
        "without series, so a state timeline over the health joined with the targets shows it.",
        "none",
        (Target(health(config), "{{shard}}"),),
        thresholds=(Threshold(RED), Threshold(YELLOW, DEGRADED), Threshold(GREEN, HEALTHY)),
        mappings=HEALTH_MAPPINGS,
        width=24,
    )


def golden_signals(config: ObservatoryConfig) -> Panel:
    """One row per shard: traffic, errors, latency, saturation and health, coloured by the alert thresholds."""
    t, p = config.thresholds, config.panels
    errors = recorded(f"{SLI_ERRORS}5m", 'slo="availability"')
    p95 = recorded(LATENCY_QUANTILE, 'quantile="0.95"')
    # Column name -> (query, unit, colour steps); every query keeps only `shard`, the column the rows join on.
    # An idle shard's error ratio (0/0) and p95 (no observations) are NaN: `>= 0` leaves its cell empty instead.
    signals = {
        "Requests/s": (recorded(REQUESTS_RATE), "reqps", (Threshold("text"),)),
        "Error ratio": (
            f"max by (cluster, shard) ({errors} >= 0)",
            "percentunit",
            rises_to(t.error_ratio_warning, t.error_ratio_critical),
        ),
        "p95 latency": (
            f"max by (cluster, shard) ({p95} >= 0)",
            "s",
            (Threshold(GREEN), Threshold(RED, t.latency_p95_seconds)),
        ),
        "In flight / capacity": (
            f"{gauge('themis_requests_in_flight')} / {gauge('themis_request_capacity')}",
            "percentunit",
            rises_to(p.in_flight_yellow_ratio, 1),
        ),
        "VRAM used": (
            f"max by (cluster, shard) ({recorded(VRAM_USAGE)})",
            "percentunit",
            (Threshold(GREEN), Threshold(RED, t.vram_usage_ratio)),
        ),
        "Health": (health(config), "none", falls_below(DEGRADED, HEALTHY)),
    }
    return Panel(
        "Golden Signals per Shard",
        PanelKind.TABLE,
        "One row per shard, each cell coloured by the threshold of the alert that watches it: traffic (inference "
        f"requests per second, {REQUESTS_RATE}), errors (server errors and rejections over all requests, 5 "
        f"minutes; yellow from {percent(t.error_ratio_warning)}, red from {percent(t.error_ratio_critical)}), "
        f"latency (p95, red from {number(t.latency_p95_seconds)} s) and saturation (requests in flight against "
        "capacity, red at 100 %, where new requests queue; the fullest GPU's memory, red from "
        f"{percent(t.vram_usage_ratio)}), and health (-1 down, 0 unhealthy, 0.5 degraded, 1 healthy). "
        "Click a shard for every dashboard filtered to it.",
        "short",
        tuple(
            Target(expr, name, instant=True, format=QueryFormat.TABLE, unit=unit, thresholds=steps)
            for name, (expr, unit, steps) in signals.items()
        ),
        transformations=table_columns({f"Value #{ref}": name for ref, name in zip("ABCDEF", signals, strict=True)}),
        width=24,
        height=6,
    )
