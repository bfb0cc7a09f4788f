"""Alerts on whether the shards serve at all: a shard's own health, its restarts, and the cluster's throughput."""

from __future__ import annotations

import math
from collections.abc import Sequence

from observatory.config import ObservatoryConfig
from observatory.config.vocabulary import CLUSTER_OVERVIEW
from observatory.rules import recording as rec
from observatory.rules.histories import (
    SHARD,
    SHARDS,
    STEP_SECONDS,
    alternating,
    alternation,
    counter,
    counter_signal,
    gauge,
    held,
    signal,
)
from observatory.rules.model import Alert, Case, Labels, Series, number, seconds
from observatory.rules.probes import Condition, Expectation, GeneratedCase, Probe, gauge_values, state
from observatory.rules.templates import HUMANIZE, SHARD_REF

# A shard that started this long before the tests' clock began is past any start-up grace.
LONG_AGO = -86_400.0
HEALTH = "themis_shard_health_status"
STARTED = "themis_shard_start_time_seconds"


def _start_time(subject: Labels, ages: Sequence[float]) -> tuple[Series, ...]:
    """The start time of a process whose age (time() - start) is ``ages`` at each sample."""
    return (Series(STARTED, subject, gauge_values([i * STEP_SECONDS - age for i, age in enumerate(ages)])),)


def shard_down(config: ObservatoryConfig) -> Alert:
    """A shard that reports itself unhealthy once past the start-up grace: at once on a clean onset, and on
    its average health while it flaps."""
    floor = config.thresholds.shard_health_floor
    smoothing, grace = config.windows.smoothing, config.windows.startup_grace
    for_ = config.for_durations.shard_down

    def cold_start(loading_minutes: int) -> tuple[Series, ...]:
        # The process starts at minute 0 and reports unhealthy while its model loads.
        return (
            Series(STARTED, SHARD, held(0, loading_minutes + 1)),
            Series(HEALTH, SHARD, held(0, loading_minutes + 1)),
        )

    def flapping(first: float, second: float) -> tuple[Series, ...]:
        return (alternating(HEALTH, SHARD, first, second), gauge(STARTED, SHARD, LONG_AGO))

    grace_minutes = int(seconds(grace) // 60)
    for_minutes = math.ceil(seconds(for_) / 60)
    probe = Probe(
        signal(HEALTH),
        "<",
        floor,
        SHARDS,
        aggregate="smoothed",
        window=smoothing,
        quiet=1.0,
        conditions=(Condition("time since start", _start_time, ">", seconds(grace), held=-LONG_AGO, clock=True),),
    )
    return Alert(
        name="ThemisShardDown",
        expr=(
            f"(min by (shard) ({HEALTH}) < {number(floor)}"
            f" or min by (shard) (avg_over_time({HEALTH}[{smoothing}])) < {number(floor)})"
            f" and on (shard) (time() - max by (shard) ({STARTED})) > {number(seconds(grace))}"
        ),
        severity="critical",
        for_=for_,
        summary="A shard reports itself unhealthy.",
        description=(
            f"Shard {SHARD_REF} reports health {HUMANIZE} (now, or on average over {smoothing} while it flaps);"
            " 1 is healthy, 0.5 degraded, 0 unhealthy."
        ),
        meaning=(
            f"The shard's own health (1 healthy, 0.5 degraded, 0 unhealthy) was below {number(floor)} for {for_}:"
            " the model is not loaded, or the GPU it needs is gone. A shard whose health flaps (unhealthy and"
            f" degraded or healthy in turn) counts as down while its average over {smoothing} is below"
            f" {number(floor)}, so one better sample does not restart the timer; steadily degraded does not fire."
            f" A shard younger than the start-up grace of {grace} is loading its model (seed 000: 30-60 s for"
            " large models) and does not fire either; a shard that keeps restarting is paged by"
            " ThemisShardCrashLooping, and one that stops answering at all by ThemisShardTargetDown."
        ),
        waits=(
            f"A clean onset (healthy, then unhealthy and staying so) pages {for_} after it: the raw health"
            f" carries the `for`. A flapping shard pages {for_} after its {smoothing} average first falls below"
            f" {number(floor)}, at most {smoothing} plus {for_} after the flapping starts. The first {grace} after"
            " a start are spared: a cold start loads its model."
        ),
        actions=(
            "Query the shard's /health endpoint: it names the failing check.",
            "Check themis_model_loaded and themis_gpu_available for the shard.",
            "Restart the shard if the model failed to load; route its domain elsewhere meanwhile.",
        ),
        panel=(CLUSTER_OVERVIEW, "Shard Health Heatmap"),
        seeds=("000: Shard Down",),
        check=probe,
        states=(
            state("a cold start inside the grace stays silent", cold_start(grace_minutes - 1), grace_minutes - 1),
            state(
                "a model that never loads fires once the grace and for have passed",
                cold_start(grace_minutes + for_minutes + 1),
                grace_minutes + for_minutes + 1,
                (SHARD, 0.0),
            ),
            # At an odd minute the latest sample is degraded: the average over the window pages.
            state(
                "flapping between unhealthy and degraded fires",
                flapping(0, 0.5),
                29,
                (SHARD, probe.compared(alternation(0, 0.5), 29)),
            ),
        ),
        firing=Case((gauge(HEALTH, SHARD, 0), gauge(STARTED, SHARD, LONG_AGO)), 0.0, SHARD),
        silent=Case((gauge(HEALTH, SHARD, 0.5), gauge(STARTED, SHARD, LONG_AGO))),
    )


def _starts(starts: Sequence[int], minutes: int) -> tuple[Series, ...]:
    """The start time of a shard started at each minute of ``starts`` (30 s before that minute's scrape)."""
    latest = (max(start for start in starts if start <= minute) for minute in range(minutes + 1))
    return (Series(STARTED, SHARD, " ".join(number(start * STEP_SECONDS - 30) for start in latest)),)


def _crash_loop(target: Labels, minutes: int) -> tuple[Series, ...]:
    """A shard that starts at every even minute and has crashed by the next scrape: while it runs its start
    time is recent and its health unhealthy (loading); while it is down its target is down, its series stale."""
    started, health, up = [], [], []
    for minute in range(minutes + 1):
        running = minute % 2 == 0
        started.append(number(minute * STEP_SECONDS - 30) if running else "stale")
        health.append("0" if running else "stale")
        up.append("1" if running else "0")
    return (
        Series(STARTED, SHARD, " ".join(started)),
        Series(HEALTH, SHARD, " ".join(health)),
        Series("up", target, " ".join(up)),
    )


def shard_crash_looping(config: ObservatoryConfig) -> Alert:
    """A shard process that keeps restarting: its start time changes again and again."""
    restarts, window = config.thresholds.shard_restarts, config.windows.restarts
    for_ = config.for_durations.shard_crash_loop
    target = (("instance", f"shard-legal:{config.ports.shard}"), ("job", config.jobs.shards))
    # Starts every other minute: the first is the cold start, the count-th restart comes at minute 2 * count.
    count = math.ceil(restarts)
    starts = tuple(range(0, 2 * count + 1, 2))
    return Alert(
        name="ThemisShardCrashLooping",
        expr=f"sum by (shard) (changes({STARTED}[{window}])) >= {number(restarts)}",
        severity="critical",
        for_=for_,
        summary="A shard keeps restarting: it crashes before it can serve.",
        description=f"Shard {SHARD_REF} started {HUMANIZE} times again in the last {window}.",
        meaning=(
            f"The shard's process started again at least {number(restarts)} times in {window}: it crashes while"
            " loading or soon after (out of memory, a model or GPU error), and Kubernetes or the supervisor"
            " restarts it. Every start is young, so the start-up grace keeps ThemisShardDown silent, and the"
            " target is up between crashes, so ThemisShardTargetDown's timer keeps restarting: this alert is"
            " the page. A single cold start, or one restart by a rollout, does not fire."
        ),
        waits=(
            f"Pages at the first evaluation that counts {number(restarts)} restarts within {window}: a shard"
            f" crashing every two minutes pages about {number(2 * restarts)} minutes after its first start. It"
            " waits for that many restarts because one or two are a rollout or a recovered fault, not a loop."
        ),
        actions=(
            "Read the shard's log and its last exit reason (kubectl describe pod: OOMKilled, exit code).",
            "Check the model file, the VRAM budget (ThemisVRAMUsageHigh) and the GPU (ThemisGPULost).",
            "Route the shard's domain elsewhere until it starts cleanly.",
        ),
        panel=(CLUSTER_OVERVIEW, "Shard Health Heatmap"),
        seeds=("000: Shard Down (a shard that never stays up)",),
        states=(
            GeneratedCase(
                "a shard crashing every other minute pages at the restart that reaches the count",
                _crash_loop(target, 2 * count + 4),
                (Expectation(2 * count - 1), Expectation(2 * count, firing=((SHARD, float(count)),))),
            ),
            state("a single cold start stays silent", (*_starts((0,), 20), gauge(HEALTH, SHARD, 1)), 20),
            state("one restart by a rollout stays silent", _starts((0, 4), 20), 20),
            state("one restart short of the count stays silent", _starts(starts[:-1], 2 * count), 2 * count),
            state("restarts reaching the count fire", _starts(starts, 2 * count + 2), 2 * count + 2, (SHARD, count)),
        ),
        firing=Case((Series(STARTED, SHARD, "0+60x30"),), seconds(window) / 60, SHARD),
        silent=Case((gauge(STARTED, SHARD, LONG_AGO),)),
    )


def throughput_low(config: ObservatoryConfig) -> Alert:
    """The cluster below its throughput target while it turns requests away."""
    floor = config.thresholds.min_cluster_requests_per_second
    for_ = config.for_durations.throughput_low
    rejected = "themis_requests_rejected_total"
    rejecting = (("endpoint", "inference"),)

    def turned_away(subject: Labels, per_second: Sequence[float]) -> tuple[Series, ...]:
        return counter_signal(rejected, rejecting)(SHARD, [v * STEP_SECONDS for v in per_second])

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
        check=Probe(
            signal(rec.CLUSTER_REQUESTS_RATE),
            "<",
            floor,
            ((),),
            # One rejection in the 5-minute window is enough: demand went unserved.
            conditions=(Condition("rejections per second", turned_away, ">", 0, held=1.0, step=1 / 300),),
        ),
        states=(state("a quiet night without rejections stays silent", quiet_night(floor / 4), 30),),
        firing=Case((*rec.requests_history(SHARD, floor / 2), counter(rejected, (*SHARD, *rejecting), 1.0)), floor / 2),
        silent=Case((*rec.requests_history(SHARD, floor * 2), counter(rejected, (*SHARD, *rejecting), 1.0))),
    )
