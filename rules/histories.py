"""Builders of promtool input histories that respect each metric's type.

Counters only rise (a constant slope), gauges hold a value, histogram buckets are cumulative.
Each builder is given the value the rule's expression should take and picks inputs that yield it.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from prometheus_client.utils import floatToGoString

from observatory.metric import Metric, MetricType
from observatory.rules.model import Case, Labels, Series, number
from observatory.rules.probes import Signal, counter_values, gauge_values

STEP = "1m"
STEP_SECONDS = 60
SAMPLES = 30
EVAL_TIME = "20m"

SHARD: Labels = (("shard", "legal"),)
OTHER_SHARD: Labels = (("shard", "finance"),)
SHARDS = (SHARD, OTHER_SHARD)
GPU_SERIES: Labels = (("shard", "legal"), ("gpu", "0"), ("uuid", "GPU-0"))
GPU_OUTPUT: Labels = (("shard", "legal"), ("gpu", "0"))
GPUS = (GPU_SERIES, (("shard", "finance"), ("gpu", "0"), ("uuid", "GPU-1")))


def held(value: float, samples: int) -> str:
    """``value`` for ``samples`` samples in promtool's expanding notation."""
    return f"{number(value)}+0x{samples - 1}"


def without(*names: str) -> Callable[[Labels], Labels]:
    """An alert output that drops the subject's labels ``names`` (aggregated away by the expression)."""
    return lambda labels: tuple((key, value) for key, value in labels if key not in names)


def level(name: str, keep: tuple[str, ...] = ("shard",)) -> Signal:
    """Inputs in which gauge ``name``, with the subject's ``keep`` labels, takes the given value per sample."""
    return lambda subject, values: (Series(name, tuple((k, v) for k, v in subject if k in keep), gauge_values(values)),)


def counter_signal(name: str, extra: Labels = ()) -> Signal:
    """Inputs in which counter ``name`` rises by the given increment at each sample."""
    return lambda subject, increments: (Series(name, (*subject, *extra), counter_values(increments)),)


def signal(name: str, extra: Labels = ()) -> Signal:
    """Inputs in which series ``name`` (subject labels plus ``extra``) takes the given value per sample."""
    return lambda subject, values: (Series(name, (*subject, *extra), gauge_values(values)),)


def le_value(bound: float) -> str:
    """A bucket bound as prometheus_client exposes it in the ``le`` label (``2.0``, ``+Inf``)."""
    return floatToGoString(bound)


def le_matcher(bound: float) -> str:
    """Matches a bucket bound however a client writes it (``2`` and ``2.0``)."""
    spellings = sorted({number(bound), le_value(bound)})
    if len(spellings) == 1:
        return f'le="{spellings[0]}"'
    return "le=~" + '"' + "|".join(re.escape(s).replace("\\", "\\\\") for s in spellings) + '"'


def gauge(name: str, labels: Labels, value: float) -> Series:
    """A gauge that holds ``value`` for the whole history."""
    return Series(name, labels, f"{number(value)}+0x{SAMPLES}")


def alternation(first: float, second: float) -> list[float]:
    """Two values in turn, ``first`` at even minutes, for the whole history."""
    return [first if i % 2 == 0 else second for i in range(SAMPLES + 1)]


def alternating(name: str, labels: Labels, first: float, second: float) -> Series:
    """A gauge that flips between two values on every sample."""
    return Series(name, labels, gauge_values(alternation(first, second)))


def counter(name: str, labels: Labels, per_second: float) -> Series:
    """A counter rising by ``per_second`` every second from zero."""
    return Series(name, labels, f"0+{number(per_second * STEP_SECONDS)}x{SAMPLES}")


def _cumulative_fractions(bounds: tuple[float, ...], quantile: float, value: float) -> list[float]:
    """Cumulative share of observations at each bound so that the quantile interpolates to ``value``."""
    upper_index = next(i for i, bound in enumerate(bounds) if value <= bound)
    lower = bounds[upper_index - 1] if upper_index else 0.0
    upper = bounds[upper_index]
    position = (value - lower) / (upper - lower)
    if lower > 0 and position <= quantile:
        # Some observations at or below the lower bound, the rest inside the bucket.
        below = (quantile - position) / (1 - position)
        return [0.0 if b < lower else below if b == lower else 1.0 for b in bounds] + [1.0]
    # All up to the quantile inside the bucket, the remainder in the next one.
    inside = quantile / position
    return [0.0 if b <= lower else inside if b == upper else 1.0 for b in bounds] + [1.0]


def histogram(metric: Metric, labels: Labels, per_second: float, quantile: float, value: float) -> tuple[Series, ...]:
    """Bucket, sum and count series whose ``quantile`` over a rate window is ``value``."""
    if metric.type is not MetricType.HISTOGRAM:
        raise ValueError(f"{metric.name} is not a histogram")
    fractions = _cumulative_fractions(metric.buckets, quantile, value)
    bounds = (*metric.buckets, float("inf"))
    buckets = tuple(
        counter(f"{metric.name}_bucket", (*labels, ("le", le_value(bound))), per_second * share)
        for bound, share in zip(bounds, fractions, strict=True)
    )
    return (
        *buckets,
        counter(f"{metric.name}_sum", labels, per_second * value),
        counter(f"{metric.name}_count", labels, per_second),
    )


def histogram_share_below(
    metric: Metric, labels: Labels, per_second: float, bound: float, share: float
) -> tuple[Series, ...]:
    """Bucket and count series in which ``share`` of the observations fall at or below ``bound``."""
    bounds = (*metric.buckets, float("inf"))
    buckets = tuple(
        counter(f"{metric.name}_bucket", (*labels, ("le", le_value(b))), per_second * (share if b <= bound else 1.0))
        for b in bounds
    )
    return (*buckets, counter(f"{metric.name}_count", labels, per_second))


# Firing values sit 5 % past the threshold; silent ones 2 % short of it, on the safe side.
FIRE_MARGIN = 0.05
SAFE_MARGIN = 0.02


def above(threshold: float) -> tuple[float, float]:
    """Firing and silent values for an alert on ``expression > threshold``."""
    return threshold * (1 + FIRE_MARGIN), threshold * (1 - SAFE_MARGIN)


def below(threshold: float) -> tuple[float, float]:
    """Firing and silent values for an alert on ``expression < threshold``."""
    return threshold * 0.5, threshold * (1 + SAFE_MARGIN)


def cases(
    history: Callable[[float], tuple[Series, ...]], labels: Labels, values: tuple[float, float]
) -> dict[str, Case]:
    """The firing and silent cases of a threshold alert whose expression yields the history's value."""
    fire, safe = values
    return {"firing": Case(history(fire), fire, labels), "silent": Case(history(safe))}
