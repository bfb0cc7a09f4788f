"""Service-level objectives: SLI recording rules, multi-window burn-rate alerts, budget remaining.

From seed 000's goals (99.9 % availability, p95 latency under 2 s), following the SRE workbook's
multi-window, multi-burn-rate alerts. Each tier is its own alert with ``tier`` (its long window) and
``exhaustion`` (how soon the period's budget is gone at that burn rate) labels, so Alertmanager can
inhibit a slower tier while a faster one fires; a disabled tier generates no alert. The budget over the
period comes from ``increase()`` of the counters (as Pyrra and Sloth compute it): idle minutes neither
turn it NaN nor weigh like busy ones. A shard that stops answering sends no requests at all, so the
uptime SLO counts the share of failed scrapes of the shard targets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from observatory.catalogue import CATALOGUE
from observatory.config import BurnTier, ObservatoryConfig
from observatory.config.selectors import selector
from observatory.config.vocabulary import (
    BUDGET_REMAINING,
    CLUSTER_OVERVIEW,
    REQUESTS_RATE,
    SLI_ERRORS,
    UPTIME_BUDGET_REMAINING,
    UPTIME_ERRORS,
)
from observatory.metric import Source
from observatory.rules.histories import (
    SAMPLES,
    SHARD,
    SHARDS,
    held,
    histogram_share_below,
    le_matcher,
    le_value,
    level,
    signal,
)
from observatory.rules.model import Alert, Case, Group, Labels, Recording, Series, number, seconds
from observatory.rules.probes import Condition, Probe, state
from observatory.rules.recording import requests_history
from observatory.rules.templates import PERCENT

_LATENCY = CATALOGUE["themis_inference_latency_seconds"]
_LATENCY_LABELS = (*SHARD, ("model", "mistral-7b"))
_REQUESTS = "themis_inference_requests_total"


@dataclass(frozen=True)
class SLO:
    """One objective: a ratio of bad to all events per subject over a window, and its runbook text.

    ``error_ratio`` builds the ratio over a window from the raw series (``increase`` over the period
    reads the same counters); ``history`` makes raw inputs with a given bad share for the tests.
    """

    name: str
    title: str
    objective: float
    by: tuple[str, ...]
    error_ratio: Callable[[str], str]
    history: Callable[[float], tuple[Series, ...]]
    subjects: tuple[Labels, Labels]
    meaning: str
    panel: tuple[str, str]
    # Whether its burn alerts hold only while the shard serves the minimum traffic.
    guarded: bool = False
    sli: str = SLI_ERRORS
    budget_record: str = BUDGET_REMAINING
    # Named states seen in the field, for the 5-minute SLI or for the period's budget.
    sli_states: tuple[tuple[str, Case], ...] = ()
    budget_states: tuple[tuple[str, Case], ...] = ()

    @property
    def budget(self) -> float:
        """The share of events allowed to be bad."""
        return 1 - self.objective


def _idle_history() -> tuple[Series, ...]:
    """2,000 requests a minute, one a server error, for 30 minutes; then 15 idle minutes."""
    model = (*SHARD, ("model", "mistral-7b"))
    return (
        Series(_REQUESTS, (*model, ("status", "success")), "0+1999x30 59970x15"),
        Series(_REQUESTS, (*model, ("status", "server_error")), "0+1x30 30x15"),
    )


def availability_slo(config: ObservatoryConfig) -> SLO:
    """Requests that end in a server error or a rejection are bad; client errors are the caller's."""
    bad = f'{_REQUESTS}{{status=~"server_error|rejected"}}'

    def error_ratio(window: str) -> str:
        function = "increase" if window == config.slo.period else "rate"
        total = f"sum by (shard) ({function}({_REQUESTS}[{window}]))"
        # A shard without a single error has no bad series; `or` keeps its ratio at 0 instead of absent.
        return f"(sum by (shard) ({function}({bad}[{window}])) or 0 * {total}) / {total}"

    return SLO(
        "availability",
        "Availability",
        config.slo.availability_objective,
        ("shard",),
        error_ratio,
        lambda ratio: requests_history(SHARD, 10.0, ratio),
        SHARDS,
        "Share of inference requests that ended in a server error or were rejected at capacity.",
        (CLUSTER_OVERVIEW, "Total Throughput"),
        guarded=True,
        # Evaluated 14 minutes into the idle spell: long past the 5-minute window that turns 0/0.
        budget_states=(
            ("idle minutes keep the period's budget a number", Case(_idle_history(), 0.0005, SHARD, at="44m")),
        ),
    )


def _short_bounds(series: tuple[Series, ...], bound: float) -> tuple[Series, ...]:
    """The histogram written by a client that prints whole bounds without a decimal point."""
    long, short = f'"{le_value(bound)}"', f'"{number(bound)}"'
    return tuple(
        Series(s.name, tuple((k, short[1:-1] if f'"{v}"' == long else v) for k, v in s.labels), s.values)
        for s in series
    )


def latency_slo(config: ObservatoryConfig) -> SLO:
    """p95 under the threshold means at most 5 % of successful requests may be slower than it."""
    threshold = config.slo.latency_threshold_seconds
    if threshold not in _LATENCY.buckets:
        bounds = ", ".join(number(bound) for bound in _LATENCY.buckets)
        raise ValueError(
            f"slo.latency_threshold_seconds: {number(threshold)} is not a bucket bound of {_LATENCY.name} ({bounds})"
        )
    fast = f"{_LATENCY.name}_bucket{{{le_matcher(threshold)}}}"

    def error_ratio(window: str) -> str:
        function = "increase" if window == config.slo.period else "rate"
        return (
            f"1 - sum by (shard) ({function}({fast}[{window}]))"
            f" / sum by (shard) ({function}({_LATENCY.name}_count[{window}]))"
        )

    def history(ratio: float) -> tuple[Series, ...]:
        # Requests beside the latencies: the burn alerts hold only while the shard has traffic.
        share = histogram_share_below(_LATENCY, _LATENCY_LABELS, 2.0, threshold, 1 - ratio)
        return (*share, *requests_history(SHARD, 2.0))

    return SLO(
        "latency",
        "Latency",
        config.slo.latency_objective,
        ("shard",),
        error_ratio,
        history,
        SHARDS,
        f"Share of successful inference requests slower than {number(threshold)} s.",
        (CLUSTER_OVERVIEW, "Aggregate Latency"),
        guarded=True,
        # Only where a client could write the bound two ways (2 and 2.0).
        sli_states=(
            (
                f'a client writing le="{number(threshold)}" is counted',
                Case(_short_bounds(history(0.01), threshold), 0.01, SHARD),
            ),
        )
        if number(threshold) != le_value(threshold)
        else (),
    )


def uptime_slo(config: ObservatoryConfig) -> SLO:
    """Failed scrapes of a shard target are bad: a dead shard answers no request the other SLOs could count."""
    job, targets = config.jobs.shards, selector(config, Source.SHARD)
    instances = tuple(
        (("instance", f"shard-{name}:{config.ports.shard}"), ("job", job)) for name in ("legal", "finance")
    )

    def error_ratio(window: str) -> str:
        return f"1 - avg by (instance, job) (avg_over_time(up{{{targets}}}[{window}]))"

    def history(ratio: float) -> tuple[Series, ...]:
        return (Series("up", instances[0], held(1 - ratio, SAMPLES + 1)),)

    return SLO(
        "uptime",
        "Uptime",
        config.slo.availability_objective,
        ("instance", "job"),
        error_ratio,
        history,
        instances,
        f"Share of the {job} job's scrapes that failed: the shard did not answer at all.",
        (CLUSTER_OVERVIEW, "Shard Health Heatmap"),
        sli=UPTIME_ERRORS,
        budget_record=UPTIME_BUDGET_REMAINING,
    )


def exhaustion(period: str, factor: float) -> str:
    """How long the period's budget lasts at ``factor`` times the sustainable burn rate."""
    hours = round(seconds(period) / factor / 3600, 6)
    return f"{number(hours / 24)}d" if hours % 24 == 0 else f"{number(hours)}h"


def _windows(config: ObservatoryConfig) -> list[str]:
    used = {"5m"} | {w for tier in config.slo.tiers if tier.enabled for w in (tier.long_window, tier.short_window)}
    return sorted(used, key=seconds)


def _records(slo: SLO, config: ObservatoryConfig) -> list[Recording]:
    labels = (("slo", slo.name),)
    keeps = (*slo.by, "slo")
    output = (*slo.subjects[0], *labels)
    ratio = slo.budget / 2
    history = slo.history(ratio)
    period = config.slo.period
    rules = [
        Recording(
            f"{slo.sli}{window}",
            slo.error_ratio(window),
            keeps,
            f"{slo.meaning[:-1]}, over {window} (0-1).",
            labels,
            Case(history, ratio, output),
            states=_states(slo.sli_states if window == "5m" else slo.budget_states if window == period else (), labels),
        )
        for window in (*_windows(config), period)
    ]
    rules.append(
        Recording(
            slo.budget_record,
            f'1 - {slo.sli}{period}{{slo="{slo.name}"}} / {number(slo.budget)}',
            keeps,
            f"Share of the {period} error budget left (1 untouched, 0 spent, negative overspent).",
            # The SLO's label set on the rule too: one budget series per SLO, however the SLI is selected.
            labels=labels,
            case=Case(history, 0.5, output),
            states=_states(
                tuple((name, replace(c, value=1 - c.value / slo.budget)) for name, c in slo.budget_states),
                labels,
            ),
        )
    )
    return rules


def _states(states: tuple[tuple[str, Case], ...], labels: Labels) -> tuple[tuple[str, Case], ...]:
    """``states`` with the SLO's labels added to the recorded output."""
    return tuple((name, replace(case, labels=(*case.labels, *labels))) for name, case in states)


def _span(duration_seconds: float) -> str:
    """A duration in words, to the second under two minutes and to the minute above."""
    if duration_seconds < 120:
        return f"{round(duration_seconds)} s"
    return f"{round(duration_seconds / 60)} minutes"


def _burn_onset(slo: SLO, tier: BurnTier, threshold: float) -> str:
    """How soon a burn-rate tier pages after a complete outage starts, and what it waits for."""
    long, short = (seconds(window) * threshold for window in (tier.long_window, tier.short_window))
    bad = (
        "scrape failing"
        if slo.name == "uptime"
        else "request failing"
        if slo.name == "availability"
        else ("request too slow")
    )
    return (
        f"No `for`: it pages at the first evaluation at which both windows' error ratios exceed"
        f" {number(threshold)}. With every {bad} from one moment on, the {tier.short_window} window crosses"
        f" after about {_span(short)} and the {tier.long_window} window after about {_span(long)}, so the page"
        f" comes about {_span(max(long, short))} after the onset (a partial outage takes longer). It waits for"
        f" the long window so that a short spike does not spend the pager, and for the short one so that it"
        " stops soon after the burn does."
    )


def _dead_shard(slo: SLO) -> tuple[Series, ...] | None:
    """A shard target answering for 30 minutes, then failing every scrape: only the uptime SLO sees it."""
    if slo.name != "uptime":
        return None
    return (Series("up", slo.subjects[0], "1x29 0x16"),)


def _burn_alert(slo: SLO, tier: BurnTier, config: ObservatoryConfig) -> Alert:
    # The threshold is written once, as the error ratio that burns the budget `factor` times too fast:
    # an input at exactly that ratio compares equal.
    threshold = float(number(slo.budget * tier.factor))
    factor = number(tier.factor)
    selector = f'{{slo="{slo.name}"}}'
    lasts = exhaustion(config.slo.period, tier.factor)
    minimum = config.thresholds.min_traffic_requests_per_second
    guard = f" and on (shard) {REQUESTS_RATE} >= {number(minimum)}" if slo.guarded else ""
    labels = (("slo", slo.name),)
    confirmed = Condition(
        f"the {tier.short_window} error ratio",
        signal(f"{slo.sli}{tier.short_window}", labels),
        ">",
        threshold,
        held=threshold * 1.5,
    )
    traffic = Condition("requests per second", level(REQUESTS_RATE), ">=", minimum, held=10.0)
    conditions = (confirmed, traffic) if slo.guarded else (confirmed,)
    subject_text = " ".join(f"{{{{ $labels.{key} }}}}" for key in slo.by)
    quiet = f" Quiet while the shard serves fewer than {number(minimum)} requests per second." if slo.guarded else ""
    states = ()
    dead = _dead_shard(slo)
    if dead is not None and tier is config.slo.tiers[0]:
        # Down from minute 30: at minute 40 the long window holds 11 failed scrapes of 41.
        states = (state("a dead shard burns the uptime budget", dead, 40, ((*slo.subjects[0], *labels), 11 / 41)),)
    return Alert(
        name=f"Themis{slo.title}BudgetBurn{tier.long_window}",
        expr=(
            f"{slo.sli}{tier.long_window}{selector} > {number(threshold)}"
            f" and {slo.sli}{tier.short_window}{selector} > {number(threshold)}{guard}"
        ),
        severity=tier.severity,
        for_=config.for_durations.burn_rate,
        summary=f"A {slo.name} error budget burns {factor} times faster than sustainable.",
        description=(
            f"{subject_text} has a {slo.name} error ratio of {PERCENT} over {tier.long_window} (confirmed over"
            f" {tier.short_window}), more than {factor} times the {number(slo.budget * 100)} % budget of the"
            f" {number(slo.objective * 100)} % objective: at that rate the {config.slo.period} budget lasts {lasts}."
        ),
        meaning=(
            f"{slo.meaning} Over both the last {tier.long_window} and {tier.short_window} it exceeded"
            f" {factor} times the {number(slo.budget)} budget of the {number(slo.objective * 100)} % objective: at"
            f" that rate the whole {config.slo.period} budget is spent in {lasts}.{quiet}"
        ),
        actions=(
            "Check which other alerts fire for the shard (errors, latency, GPU, host): the burn has a cause there.",
            f"Faster tiers of the same SLO inhibit this one (labels tier and exhaustion={lasts}).",
            "If the burn comes from a deployment, roll it back; if from load, shed or add capacity.",
        ),
        panel=slo.panel,
        seeds=(f"000 goal: {number(slo.objective * 100)} % {slo.name}",),
        labels=(("tier", tier.long_window), ("exhaustion", lasts)),
        waits=_burn_onset(slo, tier, threshold),
        check=Probe(
            signal(f"{slo.sli}{tier.long_window}", labels),
            ">",
            threshold,
            slo.subjects,
            output=lambda subject: (*subject, *labels),
            conditions=conditions,
        ),
        states=states,
        firing=Case(slo.history(threshold * 1.1), threshold * 1.1, (*slo.subjects[0], *labels)),
        silent=Case(slo.history(threshold * 0.9)),
    )


def slos(config: ObservatoryConfig) -> tuple[SLO, ...]:
    """The objectives seed 000 sets, and uptime, which sees the outages they cannot."""
    return (availability_slo(config), latency_slo(config), uptime_slo(config))


def slo_groups(config: ObservatoryConfig) -> list[Group]:
    """One group per SLO: its SLI windows, period ratio, budget remaining and burn-rate alerts."""
    groups = []
    for slo in slos(config):
        alerts = [_burn_alert(slo, tier, config) for tier in config.slo.tiers if tier.enabled]
        groups.append(Group(f"themis-slo-{slo.name}", (*_records(slo, config), *alerts)))
    return groups
