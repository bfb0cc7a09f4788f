"""Goodput on the server side: the share of each shard's requests within the serving objectives, and its alert.

aiperf and guidellm count a request as goodput when its time to first token and its time per output token
are both within objectives. Two histograms cannot say how many requests met both at once, so each objective
gets its own share (labelled ``objective``); the share meeting both lies between the sum of the two less one
and the smaller of them, and the alert fires when either share stays below the attainment objective.
"""

from __future__ import annotations

from dataclasses import dataclass

from observatory.catalogue import CATALOGUE
from observatory.config import ObservatoryConfig
from observatory.config.model import GOODPUT_HISTOGRAMS
from observatory.config.vocabulary import GOODPUT_ATTAINMENT, LLM_INFERENCE, REQUESTS_RATE
from observatory.metric import Metric
from observatory.rules.histories import SHARD, SHARDS, below, histogram_share_below, le_matcher, level, signal
from observatory.rules.model import Alert, Case, Group, Labels, Recording, Series, number
from observatory.rules.probes import Condition, Probe
from observatory.rules.recording import requests_history
from observatory.rules.templates import PERCENT, SHARD_REF

GROUP = "themis-goodput"
_MODEL = (*SHARD, ("model", "mistral-7b"))


@dataclass(frozen=True)
class Objective:
    """One goodput objective: the ``objective`` label value, its histogram, bound and what it measures."""

    name: str
    histogram: Metric
    bound: float
    what: str

    @property
    def labels(self) -> Labels:
        """The label that tells this objective's recorded share apart."""
        return (("objective", self.name),)

    def history(self, share: float) -> tuple[Series, ...]:
        """Two requests a second, ``share`` of them within the objective."""
        return histogram_share_below(self.histogram, _MODEL, 2.0, self.bound, share)


def _busy(*histories: tuple[Series, ...]) -> tuple[Series, ...]:
    """The histories on a shard finishing the same two requests a second (the alert's traffic guard)."""
    return (*(s for history in histories for s in history), *requests_history(SHARD, 2.0))


def objectives(config: ObservatoryConfig) -> tuple[Objective, ...]:
    """The configured time-to-first-token and time-per-output-token objectives."""
    g = config.goodput
    return tuple(
        Objective(name, CATALOGUE[GOODPUT_HISTOGRAMS[key]], getattr(g, key), what)
        for name, key, what in (
            ("time_to_first_token", "time_to_first_token_seconds", "a first token within"),
            ("time_per_output_token", "time_per_output_token_seconds", "a mean time per output token within"),
        )
    )


def _share(objective: Objective) -> Recording:
    name = objective.histogram.name
    within = f"{name}_bucket{{{le_matcher(objective.bound)}}}"
    return Recording(
        GOODPUT_ATTAINMENT,
        f"sum by (shard) (rate({within}[5m])) / sum by (shard) (rate({name}_count[5m]))",
        ("shard", "objective"),
        f"Share of each shard's inference requests over 5 minutes with {objective.what} the goodput objective (0-1).",
        objective.labels,
        Case(objective.history(0.8), 0.8, (*SHARD, *objective.labels)),
    )


def _alert(config: ObservatoryConfig) -> Alert:
    g = config.goodput
    target = g.attainment_objective
    minimum = config.thresholds.min_traffic_requests_per_second
    ttft, tpot = objectives(config)
    fire, safe = below(target)
    return Alert(
        name="ThemisGoodputAttainmentLow",
        expr=(f"{GOODPUT_ATTAINMENT} < {number(target)} and on (shard) {REQUESTS_RATE} >= {number(minimum)}"),
        severity="warning",
        for_=g.attainment_for,
        summary="A shard serves too few requests within its goodput objectives.",
        description=(
            f"Shard {SHARD_REF} served {PERCENT} of its requests within the {{{{ $labels.objective }}}} objective"
            f" over 5 minutes, below the {number(target * 100)} % attainment objective."
        ),
        meaning=(
            f"Fewer than {number(target * 100)} % of the shard's requests over 5 minutes met one of the goodput"
            f" objectives (time to first token at most {number(ttft.bound)} s, time per output token at most"
            f" {number(tpot.bound)} s) for {g.attainment_for}: the label objective says which. Goodput counts"
            " the requests a user found fast enough, as aiperf and guidellm report it on the client. Quiet while"
            f" the shard serves fewer than {number(minimum)} requests per second."
        ),
        actions=(
            "time_to_first_token: open Queue Time; requests waiting in line mean the shard lacks capacity"
            " (scale out), a short queue with slow first tokens means long prompts or KV-cache misses.",
            "time_per_output_token: check GPU utilisation and Tokens per Second; a GPU that fell back to CPU, or"
            " too many requests generating at once, slows every token.",
            "Compare with a client-side benchmark (observatory-loadgen --profile openai --slo, or aiperf"
            " --goodput) before changing the objectives.",
        ),
        panel=(LLM_INFERENCE, "Goodput Attainment"),
        seeds=("field: aiperf and guidellm goodput and SLO attainment",),
        check=Probe(
            signal(GOODPUT_ATTAINMENT, ttft.labels),
            "<",
            target,
            SHARDS,
            output=lambda shard: (*shard, *ttft.labels),
            conditions=(Condition("requests per second", level(REQUESTS_RATE), ">=", minimum, held=10.0),),
        ),
        firing=Case(_busy(ttft.history(safe), tpot.history(fire)), fire, (*SHARD, *tpot.labels)),
        silent=Case(_busy(ttft.history(safe), tpot.history(safe))),
    )


def goodput_group(config: ObservatoryConfig) -> Group:
    """The goodput shares per objective and the attainment alert."""
    return Group(GROUP, (*(_share(objective) for objective in objectives(config)), _alert(config)))
