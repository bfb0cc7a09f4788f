"""Alerts on whether the shards serve at all: a shard's own health, and the cluster's throughput."""

from __future__ import annotations

from observatory.config import ObservatoryConfig
from observatory.config.vocabulary import CLUSTER_OVERVIEW
from observatory.rules import recording as rec
from observatory.rules.histories import SHARD, SHARDS, alternating, counter, gauge, held, signal, steady
from observatory.rules.model import Alert, Case, Labels, Series, number, seconds
from observatory.rules.probes import Probe, state
from observatory.rules.templates import HUMANIZE, SHARD_REF

# A shard that started this long before the tests' clock began is past any start-up grace.
LONG_AGO = -86_400.0


def shard_down(config: ObservatoryConfig) -> Alert:
    """A shard that reports itself unhealthy, judged on its average health once past the start-up grace."""
    floor = config.thresholds.shard_health_floor
    smoothing, grace = config.windows.smoothing, config.windows.startup_grace
    health = "themis_shard_health_status"
    started = steady("themis_shard_start_time_seconds", LONG_AGO)

    def cold_start(loading_minutes: int) -> tuple[Series, ...]:
        # The process starts at minute 0 and reports unhealthy while its model loads.
        return (
            Series("themis_shard_start_time_seconds", SHARD, held(0, loading_minutes + 1)),
            Series(health, SHARD, held(0, loading_minutes + 1)),
        )

    def flapping(first: float, second: float) -> tuple[Series, ...]:
        return (alternating(health, SHARD, first, second), *started(SHARD, 31))

    grace_minutes = int(seconds(grace) // 60)
    for_minutes = int(seconds(config.for_durations.shard_down) // 60)
    return Alert(
        name="ThemisShardDown",
        expr=(
            f"min by (shard) (avg_over_time({health}[{smoothing}])) < {number(floor)}"
            f" and on (shard) (time() - max by (shard) (themis_shard_start_time_seconds)) > {number(seconds(grace))}"
        ),
        severity="critical",
        for_=config.for_durations.shard_down,
        summary="A shard reports itself unhealthy.",
        description=(
            f"Shard {SHARD_REF} reports health {HUMANIZE} on average over {smoothing}; 1 is healthy, 0 unhealthy."
        ),
        meaning=(
            f"The shard's own health (1 healthy, 0.5 degraded, 0 unhealthy) averaged below {number(floor)} over"
            f" {smoothing}, for {config.for_durations.shard_down}: the model is not loaded, or the GPU it needs is"
            " gone. Averaging keeps a shard that flaps between unhealthy and degraded from restarting the timer;"
            " steadily degraded does not fire. A shard younger than the start-up grace of"
            f" {grace} is loading its model (seed 000: 30-60 s for large models) and does not fire either. A shard"
            " that stops answering at all is paged by ThemisShardTargetDown."
        ),
        actions=(
            "Query the shard's /health endpoint: it names the failing check.",
            "Check themis_model_loaded and themis_gpu_available for the shard.",
            "Restart the shard if the model failed to load; route its domain elsewhere meanwhile.",
        ),
        panel=(CLUSTER_OVERVIEW, "Shard Health Heatmap"),
        seeds=("000: Shard Down",),
        check=Probe(signal(health, (), started), "<", floor, SHARDS, aggregate="avg", window=smoothing, quiet=1.0),
        states=(
            state("a cold start inside the grace stays silent", cold_start(grace_minutes - 1), grace_minutes - 1),
            state(
                "a model that never loads fires once the grace and for have passed",
                cold_start(grace_minutes + for_minutes + 1),
                grace_minutes + for_minutes + 1,
                (SHARD, 0.0),
            ),
            state("flapping between unhealthy and degraded fires", flapping(0, 0.5), 30, (SHARD, 0.25)),
        ),
        firing=Case((gauge(health, SHARD, 0), gauge("themis_shard_start_time_seconds", SHARD, LONG_AGO)), 0.0, SHARD),
        silent=Case((gauge(health, SHARD, 0.5), gauge("themis_shard_start_time_seconds", SHARD, LONG_AGO))),
    )


def throughput_low(config: ObservatoryConfig) -> Alert:
    """The cluster below its throughput target while it turns requests away."""
    floor = config.thresholds.min_cluster_requests_per_second
    for_ = config.for_durations.throughput_low
    rejected = "themis_requests_rejected_total"
    rejecting = (("endpoint", "inference"),)

    def turned_away(subject: Labels, samples: int) -> tuple[Series, ...]:
        return (Series(rejected, (*SHARD, *rejecting), f"0+60x{samples - 1}"),)

    def quiet_night(per_second: float) -> tuple[Series, ...]:
        return rec.requests_history(SHARD, per_second)

    return Alert(
        name="ThemisThroughputLow",
        expr=f"{rec.CLUSTER_REQUESTS_RATE} < {number(floor)} and on () sum(rate({rejected}[5m])) > 0",
        severity="warning",
        for_=for_,
        summary="The cluster finishes fewer inference requests than its target while it turns requests away.",
        description=(
            f"The cluster finishes {HUMANIZE} inference requests per second, below {number(floor)}, while shards"
            " reject requests at capacity."
        ),
        meaning=(
            f"All shards together finished fewer than {number(floor)} inference requests per second for {for_}"
            " while some shard rejected requests (429): demand is there and capacity is not. Low demand alone (a"
            " quiet night) is not an incident and stays silent; a cluster without request series at all is"
            " reported by ThemisInferenceSeriesMissing."
        ),
        actions=(
            "Look for shards that are down, degraded or rejecting (ThemisShardDown, the error alerts).",
            "Add shards or raise their capacity (max in flight) if they are healthy and full.",
        ),
        panel=(CLUSTER_OVERVIEW, "Total Throughput"),
        seeds=("001: throughput below target", "004: Low Throughput"),
        check=Probe(signal(rec.CLUSTER_REQUESTS_RATE, (), turned_away), "<", floor, ((),)),
        states=(state("a quiet night without rejections stays silent", quiet_night(floor / 4), 30),),
        firing=Case((*rec.requests_history(SHARD, floor / 2), counter(rejected, (*SHARD, *rejecting), 1.0)), floor / 2),
        silent=Case((*rec.requests_history(SHARD, floor * 2), counter(rejected, (*SHARD, *rejecting), 1.0))),
    )
