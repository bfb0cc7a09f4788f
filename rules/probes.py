"""How the generated promtool cases drive an alert, and what the alert must do in each of them.

A :class:`Probe` describes a threshold alert by its meaning: a compared quantity (one value per sample
for a subject such as a shard), a comparison, a threshold and the alert's ``for``. A :class:`Presence`
describes a missing-data alert: it fires once a subject's series are gone for ``for``. From either,
:func:`generated_cases` builds the boundary, ``for`` timer, two-subject, missing-series, flapping and
recovery histories, and derives what Prometheus must answer at each evaluation by replaying the
alert's state machine (active when the comparison holds, firing once it has held for ``for``).
Range windows are closed, as in the Prometheus the tests run against: ``[t - window, t]``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from statistics import fmean

from observatory.rules.model import Labels, Series, number, seconds

STEP_SECONDS = 60
# Boundary values sit 1 % past the threshold: closer than any threshold mutation of the mutation test.
BOUNDARY = 0.01
COMPARISONS: dict[str, Callable[[float, float], bool]] = {">": operator.gt, "<": operator.lt}

Signal = Callable[[Labels, Sequence[float]], tuple[Series, ...]]


def identity(labels: Labels) -> Labels:
    """The alert's labels are the subject's own."""
    return labels


@dataclass(frozen=True)
class Probe:
    """A threshold alert: ``signal`` builds inputs in which the compared quantity takes one value per sample.

    ``aggregate`` says how the expression reads those values: ``last`` (the latest sample), ``avg``
    (their mean over ``window``, for gauges smoothed against flapping) or ``increase`` (the values are a
    counter's per-sample increments, summed over ``window``). ``output`` maps a subject's labels to the
    labels the alert carries. ``quiet`` is a value well on the quiet side of the threshold.
    """

    signal: Signal
    op: str
    threshold: float
    subjects: tuple[Labels, Labels]
    output: Callable[[Labels], Labels] = identity
    aggregate: str = "last"
    window: str = "0s"
    quiet: float | None = None

    @property
    def beyond(self) -> float:
        """Just past the threshold: 1 % beyond it, or one event past a zero count."""
        if self.threshold == 0:
            return 1.0 if self.op == ">" else -1.0
        return self.threshold * (1 + BOUNDARY if self.op == ">" else 1 - BOUNDARY)

    @property
    def far(self) -> float:
        """Half as much again past the threshold: the bad samples of a flapping history."""
        if self.threshold == 0:
            return 2.0 if self.op == ">" else -2.0
        return self.threshold * (1.5 if self.op == ">" else 0.5)

    @property
    def safe(self) -> float:
        """A value on the quiet side."""
        if self.quiet is not None:
            return self.quiet
        return self.threshold * (0.5 if self.op == ">" else 1.5)

    @property
    def window_samples(self) -> int:
        """Samples a range window spans beyond the latest one."""
        return int(seconds(self.window) // STEP_SECONDS)

    def compared(self, values: Sequence[float | None], index: int) -> float | None:
        """The quantity the alert compares at sample ``index`` (None where the expression has no value)."""
        if values[index] is None:
            return None
        start = max(0, index - self.window_samples)
        span = [value for value in values[start : index + 1] if value is not None]
        if self.aggregate == "last":
            return values[index]
        if self.aggregate == "avg":
            return fmean(span)
        # A counter's increase needs two samples; the first sample in the window is the base.
        increments = values[max(1, start + 1) : index + 1]
        return sum(v for v in increments if v is not None) if index >= 1 else None

    def holds(self, values: Sequence[float | None], index: int) -> bool:
        """Whether the alert's condition holds at sample ``index``."""
        value = self.compared(values, index)
        return value is not None and COMPARISONS[self.op](value, self.threshold)


@dataclass(frozen=True)
class Presence:
    """A missing-data alert: it fires for a subject whose ``series`` are gone for ``for``.

    ``series`` builds the watched series of a subject from per-sample presence (True present).
    ``per_subject`` is False for ``absent()`` alerts, which fire only when no subject has the series.
    """

    series: Callable[[Labels, Sequence[bool]], tuple[Series, ...]]
    subjects: tuple[Labels, Labels]
    output: Callable[[Labels], Labels] = identity
    per_subject: bool = True


@dataclass(frozen=True)
class Expectation:
    """What the alert is at one evaluation: the labels and value of each firing and pending alert."""

    at: int
    firing: tuple[tuple[Labels, float], ...] = ()
    pending: tuple[Labels, ...] = ()


@dataclass(frozen=True)
class GeneratedCase:
    """One promtool test of an alert: its input history and the expectations at chosen evaluations."""

    name: str
    series: tuple[Series, ...]
    expectations: tuple[Expectation, ...]


def _states(holds: Sequence[bool], for_samples: int) -> list[str]:
    """Prometheus' alert states per evaluation: inactive, pending, or firing once active ``for`` long."""
    states, active_at = [], None
    for index, held in enumerate(holds):
        if not held:
            active_at = None
            states.append("inactive")
            continue
        active_at = index if active_at is None else active_at
        states.append("firing" if index - active_at >= for_samples else "pending")
    return states


def _for_samples(for_: str) -> int:
    return int(seconds(for_) // STEP_SECONDS)


def gauge_values(values: Sequence[float | None]) -> str:
    """Exact per-sample values in promtool's notation (``_`` where there is no sample)."""
    return " ".join("_" if value is None else number(value) for value in values)


def presence_values(seen: Sequence[bool]) -> str:
    """A series present (value 1) where ``seen``; a staleness marker where it vanishes, so it goes at once."""
    values, before = [], False
    for here in seen:
        values.append("1" if here else "stale" if before else "_")
        before = here
    return " ".join(values)


def counter_values(increments: Sequence[float]) -> str:
    """A counter whose per-sample increments are ``increments`` (the first is its starting value)."""
    total, values = 0.0, []
    for step in increments:
        total += step
        values.append(number(total))
    return " ".join(values)


class _Threshold:
    """Builds the cases of one :class:`Probe` with ``for`` of ``for_samples`` samples."""

    def __init__(self, probe: Probe, for_: str) -> None:
        self.probe = probe
        self.for_samples = _for_samples(for_)
        # Long enough for a full window and the whole `for`, with room on both sides.
        self.settle = probe.window_samples + 2

    def expect(self, histories: Sequence[Sequence[float | None]], at: int) -> Expectation:
        """What the alert is at sample ``at`` given each subject's history."""
        firing, pending = [], []
        for subject, values in zip(self.probe.subjects, histories, strict=False):
            state = _states([self.probe.holds(values, i) for i in range(at + 1)], self.for_samples)[at]
            labels = self.probe.output(subject)
            if state == "firing":
                firing.append((labels, self.probe.compared(values, at)))
            elif state == "pending":
                pending.append(labels)
        return Expectation(at, tuple(firing), tuple(pending))

    def case(self, name: str, histories: Sequence[Sequence[float | None]], *at: int) -> GeneratedCase:
        series = [
            s
            for subject, values in zip(self.probe.subjects, histories, strict=False)
            if any(v is not None for v in values)
            for s in self.probe.signal(subject, values)
        ]
        return GeneratedCase(name, tuple(series), tuple(self.expect(histories, i) for i in at))

    def onset(self, values: Sequence[float | None]) -> int:
        """The first sample at which the condition holds."""
        return next(i for i in range(len(values)) if self.probe.holds(values, i))

    def cases(self) -> list[GeneratedCase]:
        p, settle, wait = self.probe, self.settle, self.for_samples
        # A smoothed value needs a whole window of bad samples before it crosses the threshold.
        length = settle + p.window_samples + wait + 3
        end = length - 1
        step_up = [p.safe] * settle + [p.beyond] * (length - settle)
        onset = self.onset(step_up)
        cases = [
            self.case("at the threshold stays silent", [[p.threshold] * length], end),
            self.case("just beyond the threshold fires", [[p.beyond] * length], end),
        ]
        if wait:
            cases.append(self.case("pending until for has elapsed", [step_up], onset + wait - 1))
        cases += [
            self.case("fires once for has elapsed", [step_up], onset + wait),
            self.case("two subjects, only the breaching one fires", [[p.beyond] * length, [p.safe] * length], end),
            self.case("series missing stays silent", [[None] * length], end),
        ]
        flapping = [p.far if i % 3 != 2 else p.safe for i in range(length + 3)]
        cases.append(self.case("flapping", [flapping], length + 2))
        recovery = [p.beyond] * length + [p.safe] * settle
        cases.append(self.case("recovers once the value is back", [recovery], end, len(recovery) - 1))
        return cases


class _Presence:
    """Builds the cases of one :class:`Presence` with ``for`` of ``for_samples`` samples."""

    def __init__(self, presence: Presence, for_: str) -> None:
        self.presence = presence
        self.for_samples = _for_samples(for_)

    def case(self, name: str, histories: Sequence[Sequence[bool]], *at: int) -> GeneratedCase:
        pr = self.presence
        series = tuple(
            s for subject, seen in zip(pr.subjects, histories, strict=True) for s in pr.series(subject, seen)
        )
        expectations = []
        for index in at:
            firing, pending = [], []
            gone = [[not seen[i] for i in range(index + 1)] for seen in histories]
            if not pr.per_subject:
                # absent() fires, without subject labels, only while every subject is gone.
                gone = [[all(subject[i] for subject in gone) for i in range(index + 1)]]
            for subject, missing in zip(pr.subjects, gone, strict=False):
                state = _states(missing, self.for_samples)[index]
                labels = pr.output(subject)
                if state == "firing":
                    firing.append((labels, 1.0))
                elif state == "pending":
                    pending.append(labels)
            expectations.append(Expectation(index, tuple(firing), tuple(pending)))
        return GeneratedCase(name, series, tuple(expectations))

    def cases(self) -> list[GeneratedCase]:
        wait, settle = self.for_samples, 3
        length = settle + wait + 3
        end = length - 1
        present = [True] * length
        vanish = [True] * settle + [False] * (wait + 3)
        cases = [self.case("series present stays silent", [present, present], end)]
        both_gone = [vanish, vanish]
        if wait:
            cases.append(self.case("pending until for has elapsed", both_gone, settle + wait - 1))
        cases.append(self.case("fires once for has elapsed", both_gone, settle + wait))
        if self.presence.per_subject:
            cases.append(self.case("two subjects, only the one missing fires", [vanish, present], end))
        back = vanish + [True] * settle
        cases.append(self.case("recovers once the series are back", [back, back], end, len(back) - 1))
        return cases


def generated_cases(check: Probe | Presence, for_: str) -> list[GeneratedCase]:
    """Every generated case of an alert with ``for_``, expectations derived from its meaning."""
    builder = _Threshold(check, for_) if isinstance(check, Probe) else _Presence(check, for_)
    return builder.cases()


def state(name: str, series: Sequence[Series], at: int, *firing: tuple[Labels, float]) -> GeneratedCase:
    """A named state seen in the field: ``series`` and the alerts firing at minute ``at`` (none: silent)."""
    return GeneratedCase(name, tuple(series), (Expectation(at, tuple(firing)),))
