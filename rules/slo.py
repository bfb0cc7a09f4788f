"""Service-level objectives: SLI recording rules, multi-window burn-rate alerts, budget remaining.

From seed 000's goals (99.9 % availability, p95 latency under 2 s), following the SRE workbook's
multi-window, multi-burn-rate alerts. Each tier is its own alert with ``tier`` (its long window) and
``exhaustion`` (how soon the period's budget is gone at that burn rate) labels, so Alertmanager can
inhibit a slower tier while a faster one fires; a disabled tier generates no alert.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from observatory.catalogue import CATALOGUE
from observatory.config import BurnTier, ObservatoryConfig
from observatory.config.vocabulary import BUDGET_REMAINING, CLUSTER_OVERVIEW, SLI_ERRORS
from observatory.rules.histories import SHARD, histogram_share_below, le_value
from observatory.rules.model import Alert, Case, Group, Recording, Series, number, seconds
from observatory.rules.recording import requests_history
from observatory.rules.templates import SHARD_REF

_LATENCY = CATALOGUE["themis_inference_latency_seconds"]
_LATENCY_LABELS = (*SHARD, ("model", "mistral-7b"))


@dataclass(frozen=True)
class SLO:
    """One objective: a per-shard ratio of bad to all events over a window, and its runbook text."""

    name: str
    title: str
    objective: float
    error_ratio: Callable[[str], str]
    history: Callable[[float], tuple[Series, ...]]
    meaning: str
    panel: tuple[str, str]

    @property
    def budget(self) -> float:
        """The share of events allowed to be bad."""
        return 1 - self.objective


def availability_slo(config: ObservatoryConfig) -> SLO:
    """Requests that end in a server error or a rejection are bad; client errors are the caller's."""
    requests = "themis_inference_requests_total"
    bad = f'{requests}{{status=~"server_error|rejected"}}'

    def error_ratio(window: str) -> str:
        total = f"sum by (shard) (rate({requests}[{window}]))"
        # A shard without a single error has no bad series; `or` keeps its ratio at 0 instead of absent.
        return f"(sum by (shard) (rate({bad}[{window}])) or 0 * {total}) / {total}"

    return SLO(
        "availability",
        "Availability",
        config.slo.availability_objective,
        error_ratio,
        lambda ratio: requests_history(SHARD, 10.0, ratio),
        "Share of inference requests that ended in a server error or were rejected at capacity.",
        (CLUSTER_OVERVIEW, "Total Throughput"),
    )


def latency_slo(config: ObservatoryConfig) -> SLO:
    """p95 under the threshold means at most 5 % of successful requests may be slower than it."""
    threshold = config.slo.latency_threshold_seconds
    if threshold not in _LATENCY.buckets:
        bounds = ", ".join(number(bound) for bound in _LATENCY.buckets)
        raise ValueError(
            f"slo.latency_threshold_seconds: {number(threshold)} is not a bucket bound of {_LATENCY.name} ({bounds})"
        )
    fast = f'{_LATENCY.name}_bucket{{le="{le_value(threshold)}"}}'

    def error_ratio(window: str) -> str:
        return f"1 - sum by (shard) (rate({fast}[{window}])) / sum by (shard) (rate({_LATENCY.name}_count[{window}]))"

    return SLO(
        "latency",
        "Latency",
        config.slo.latency_objective,
        error_ratio,
        lambda ratio: histogram_share_below(_LATENCY, _LATENCY_LABELS, 2.0, threshold, 1 - ratio),
        f"Share of successful inference requests slower than {number(threshold)} s.",
        (CLUSTER_OVERVIEW, "Aggregate Latency"),
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
    output = (*SHARD, *labels)
    ratio = slo.budget / 2
    history = slo.history(ratio)
    period = config.slo.period
    rules = [
        Recording(
            f"{SLI_ERRORS}{window}",
            slo.error_ratio(window),
            ("shard", "slo"),
            f"{slo.meaning[:-1]}, over {window} (0-1).",
            labels,
            Case(history, ratio, output),
        )
        for window in _windows(config)
    ]
    rules.append(
        Recording(
            f"{SLI_ERRORS}{period}",
            f'avg_over_time({SLI_ERRORS}5m{{slo="{slo.name}"}}[{period}])',
            ("shard", "slo"),
            f"The {slo.name} SLI averaged over the {period} SLO period (0-1).",
            case=Case(history, ratio, output),
        )
    )
    rules.append(
        Recording(
            BUDGET_REMAINING,
            f'1 - {SLI_ERRORS}{period}{{slo="{slo.name}"}} / {number(slo.budget)}',
            ("shard", "slo"),
            f"Share of the {period} error budget left (1 untouched, 0 spent, negative overspent).",
            case=Case(history, 0.5, output),
        )
    )
    return rules


def _burn_alert(slo: SLO, tier: BurnTier, config: ObservatoryConfig) -> Alert:
    budget = number(slo.budget)
    factor = number(tier.factor)
    selector = f'{{slo="{slo.name}"}}'
    lasts = exhaustion(config.slo.period, tier.factor)
    burning = min(slo.budget * tier.factor * 1.1, 1.0)
    return Alert(
        name=f"Themis{slo.title}BudgetBurn{tier.long_window}",
        expr=(
            f"{SLI_ERRORS}{tier.long_window}{selector} / {budget} > {factor}"
            f" and {SLI_ERRORS}{tier.short_window}{selector} / {budget} > {factor}"
        ),
        severity=tier.severity,
        summary=f"A shard burns its {slo.name} error budget {factor} times faster than sustainable.",
        description=(
            f"Shard {SHARD_REF} burns its {slo.name} error budget {{{{ $value | humanize }}}} times faster"
            f" than the {number(slo.objective * 100)} % objective allows over {tier.long_window}"
            f" (confirmed over {tier.short_window}); at {factor}x the {config.slo.period} budget lasts {lasts}."
        ),
        meaning=(
            f"{slo.meaning} Over both the last {tier.long_window} and {tier.short_window} it exceeded"
            f" {factor} times the {budget} budget of the {number(slo.objective * 100)} % objective: at that"
            f" rate the whole {config.slo.period} budget is spent in {lasts}."
        ),
        actions=(
            "Check which other alerts fire for the shard (errors, latency, GPU, host): the burn has a cause there.",
            f"Faster tiers of the same SLO inhibit this one (labels tier and exhaustion={lasts}).",
            "If the burn comes from a deployment, roll it back; if from load, shed or add capacity.",
        ),
        panel=slo.panel,
        seeds=(f"000 goal: {number(slo.objective * 100)} % {slo.name}",),
        labels=(("tier", tier.long_window), ("exhaustion", lasts)),
        firing=Case(slo.history(burning), burning / slo.budget, (*SHARD, ("slo", slo.name))),
        silent=Case(slo.history(slo.budget * tier.factor * 0.9)),
    )


def slos(config: ObservatoryConfig) -> tuple[SLO, ...]:
    """The objectives seed 000 sets."""
    return (availability_slo(config), latency_slo(config))


def slo_groups(config: ObservatoryConfig) -> list[Group]:
    """One group per SLO: its SLI windows, period ratio, budget remaining and burn-rate alerts."""
    groups = []
    for slo in slos(config):
        alerts = [_burn_alert(slo, tier, config) for tier in config.slo.tiers if tier.enabled]
        groups.append(Group(f"themis-slo-{slo.name}", (*_records(slo, config), *alerts)))
    return groups
