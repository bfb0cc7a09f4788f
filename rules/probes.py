"""How the generated promtool cases drive an alert, and what the alert must do in each of them.

A :class:`Probe` describes a threshold alert by its meaning: a compared quantity (one value per sample
for a subject such as a shard), a comparison, a threshold and the alert's ``for``, and the other
comparisons its expression joins with ``and`` (:class:`Condition`: a traffic guard, the start-up grace,
a burn rate's second window). A :class:`Presence` describes a missing-data alert: it fires once a
subject's series are gone for ``for``. From either, :func:`generated_cases` builds the boundary, clean
onset, ``for`` timer, two-subject, missing-series, flapping and recovery histories, each condition's
boundary, and derives what Prometheus must answer at each evaluation by replaying the alert's state
machine (active when every comparison holds, firing once it has held for ``for``). Range windows are
closed, as in the Prometheus the tests run against: ``[t - window, t]``.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from statistics import fmean

from observatory.rules.model import Labels, Series, number, seconds

STEP_SECONDS = 60
# Boundary values sit 1 % past the threshold: closer than any threshold mutation of the mutation test.
BOUNDARY = 0.01
COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    "<": operator.lt,
    ">=": operator.ge,
    "<=": operator.le,
    "==": operator.eq,
}

Signal = Callable[[Labels, Sequence[float]], tuple[Series, ...]]


def identity(labels: Labels) -> Labels:
    """The alert's labels are the subject's own."""
    return labels


@dataclass(frozen=True)
class Condition:
    """A comparison the alert's expression joins to its probed one with ``and``.

    ``series`` builds a subject's inputs in which the compared quantity takes one value per sample;
    ``held`` satisfies the comparison and is used while the probed quantity is tested. ``step`` is the
    least meaningful move across ``threshold`` (one rejection in the window), 1 % of it by default.
    A ``clock`` quantity is an age (``time() - start``): it grows by one second every second.
    """

    name: str
    series: Signal
    op: str
    threshold: float
    held: float
    step: float | None = None
    clock: bool = False

    def profile(self, value: float, length: int) -> list[float]:
        """The quantity at each of ``length`` samples, ``value`` at the last one."""
        if self.clock:
            return [value - (length - 1 - i) * STEP_SECONDS for i in range(length)]
        return [value] * length

    def boundary(self) -> tuple[float, float]:
        """The threshold itself and the value one step across it, on the side where the outcome flips."""
        step = self.step if self.step is not None else abs(self.threshold) * BOUNDARY
        inclusive = self.op in (">=", "<=", "==")
        upward = (self.op in (">", ">=")) != inclusive
        return self.threshold, self.threshold + (step if upward else -step)

    def holds(self, values: Sequence[float], index: int) -> bool:
        """Whether the comparison holds at sample ``index``."""
        return COMPARISONS[self.op](values[index], self.threshold)


@dataclass(frozen=True)
class Probe:
    """A threshold alert: ``signal`` builds inputs in which the compared quantity takes one value per sample.

    ``aggregate`` says how the expression reads those values: ``last`` (the latest sample), ``smoothed``
    (the latest sample where it breaches, else the mean over ``window``: the raw comparison keeps the
    onset-to-page time at ``for`` while the mean keeps a flapping signal's timer running) or
    ``increase`` (the values are a counter's per-sample increments, summed over ``window``). ``output``
    maps a subject's labels to the labels the alert carries. ``quiet`` is a value well on the quiet side
    of the threshold. ``conditions`` are the expression's other comparisons.
    """

    signal: Signal
    op: str
    threshold: float
    subjects: tuple[Labels, Labels]
    output: Callable[[Labels], Labels] = identity
    aggregate: str = "last"
    window: str = "0s"
    quiet: float | None = None
    conditions: tuple[Condition, ...] = ()

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
        if self.aggregate == "smoothed":
            latest = values[index]
            return latest if COMPARISONS[self.op](latest, self.threshold) else fmean(span)
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
    # A `for` shorter than the evaluation interval still needs the next evaluation to fire.
    return math.ceil(seconds(for_) / STEP_SECONDS)


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


# The quantity of every condition at each sample: one list per condition.
Conditions = Sequence[Sequence[float]]


class _Threshold:
    """Builds the cases of one :class:`Probe` with ``for`` of ``for_samples`` samples."""

    def __init__(self, probe: Probe, for_: str) -> None:
        self.probe = probe
        self.for_samples = _for_samples(for_)
        # Long enough for a full window and the whole `for`, with room on both sides.
        self.settle = probe.window_samples + 2

    def held(self, length: int) -> list[list[float]]:
        """Every condition held on its satisfied side for ``length`` samples."""
        return [c.profile(c.held, length) for c in self.probe.conditions]

    def holds(self, values: Sequence[float | None], conditions: Conditions, index: int) -> bool:
        """Whether the probed comparison and every condition hold at sample ``index``."""
        joined = zip(self.probe.conditions, conditions, strict=True)
        return self.probe.holds(values, index) and all(c.holds(v, index) for c, v in joined)

    def expect(self, histories: Sequence[Sequence[float | None]], conditions: Conditions, at: int) -> Expectation:
        """What the alert is at sample ``at`` given each subject's history."""
        firing, pending = [], []
        for subject, values in zip(self.probe.subjects, histories, strict=False):
            held = [self.holds(values, conditions, i) for i in range(at + 1)]
            state = _states(held, self.for_samples)[at]
            labels = self.probe.output(subject)
            if state == "firing":
                firing.append((labels, self.probe.compared(values, at)))
            elif state == "pending":
                pending.append(labels)
        return Expectation(at, tuple(firing), tuple(pending))

    def series(self, histories: Sequence[Sequence[float | None]], conditions: Conditions) -> tuple[Series, ...]:
        """The inputs: each subject's signal and conditions (a subject without any value has no series)."""
        inputs: list[Series] = []
        for subject, values in zip(self.probe.subjects, histories, strict=False):
            if any(v is not None for v in values):
                inputs += self.probe.signal(subject, values)
                for condition, quantity in zip(self.probe.conditions, conditions, strict=True):
                    inputs += condition.series(subject, quantity)
        return tuple(inputs)

    def case(
        self, name: str, histories: Sequence[Sequence[float | None]], *at: int, conditions: Conditions | None = None
    ) -> GeneratedCase:
        conditions = self.held(len(histories[0])) if conditions is None else conditions
        expectations = tuple(self.expect(histories, conditions, i) for i in at)
        return GeneratedCase(name, self.series(histories, conditions), expectations)

    def onset_case(self, step_up: Sequence[float], onset: int, at: int) -> GeneratedCase:
        """A clean onset (steady good, then steady bad from ``onset``), judged from the meaning of ``for``:
        pending from the onset until ``for`` has elapsed, firing at exactly that evaluation."""
        p, labels = self.probe, self.probe.output(self.probe.subjects[0])
        conditions = self.held(len(step_up))
        if at < onset + self.for_samples:
            expectation = Expectation(at, pending=(labels,))
        else:
            expectation = Expectation(at, firing=((labels, p.compared(step_up, at)),))
        name = "pending until for has elapsed" if expectation.pending else "fires once for has elapsed"
        return GeneratedCase(name, self.series([step_up], conditions), (expectation,))

    def flapping_cases(self, length: int) -> list[GeneratedCase]:
        """A smoothed signal alternating across the threshold: its mean just past the threshold pages, as
        the raw comparison alone never would (each good sample would restart its timer)."""
        p = self.probe
        high = 2 * p.beyond - p.far
        flapping = [p.far if i % 2 == 0 else high for i in range(length)]
        return [self.case("flapping across the threshold pages on its mean", [flapping], length - 1)]

    def condition_cases(self, length: int) -> list[GeneratedCase]:
        """Each condition at its threshold and one step across it, the probed quantity well past its own."""
        cases, end = [], length - 1
        for index, condition in enumerate(self.probe.conditions):
            for value in condition.boundary():
                conditions = self.held(length)
                conditions[index] = condition.profile(value, length)
                name = f"{condition.name} at {number(value)}"
                cases.append(self.case(name, [[self.probe.far] * length], end, conditions=conditions))
        return cases

    def cases(self) -> list[GeneratedCase]:
        p, settle, wait = self.probe, self.settle, self.for_samples
        # Room for a whole window and the whole `for` after the onset.
        length = settle + p.window_samples + wait + 3
        end = length - 1
        step_up = [p.safe] * settle + [p.beyond] * (length - settle)
        cases = [
            self.case("at the threshold stays silent", [[p.threshold] * length], end),
            self.case("just beyond the threshold fires", [[p.beyond] * length], end),
        ]
        if wait:
            cases.append(self.onset_case(step_up, settle, settle + wait - 1))
        cases += [
            self.onset_case(step_up, settle, settle + wait),
            self.case("two subjects, only the breaching one fires", [[p.beyond] * length, [p.safe] * length], end),
            self.case("series missing stays silent", [[None] * length], end),
        ]
        flapping = [p.far if i % 3 != 2 else p.safe for i in range(length + 3)]
        cases.append(self.case("flapping", [flapping], length + 2))
        if p.aggregate == "smoothed":
            cases += self.flapping_cases(length + 3)
        if p.aggregate == "increase" and p.threshold == 0:
            # One event and no more: it counts for one window, and pages if that outlasts the `for`.
            single = [0.0] * settle + [1.0] + [0.0] * (length - settle - 1)
            cases.append(self.case("one event in the window", [single], settle, settle + wait, end))
        recovery = [p.beyond] * length + [p.safe] * settle
        cases.append(self.case("recovers once the value is back", [recovery], end, len(recovery) - 1))
        return cases + self.condition_cases(length)


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
