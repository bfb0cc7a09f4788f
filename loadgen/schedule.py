"""When each request is due: send-time plans as offsets in seconds from the start of a run.

An open-loop generator sends each request at its planned time whatever the server is doing, and
measures latency from that time; the plan is therefore fixed before the run and never waits on a
response. Every plan is a pure function of its parameters and a seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Seed 001's burst scenario cycles 7k -> 15k -> 7k requests/s; scaled, the peak is 15/7 of the base.
BURST_PEAK_FACTOR = 15 / 7


def constant(qps: float, duration_s: float) -> np.ndarray:
    """Evenly spaced send times at ``qps`` requests per second for ``duration_s`` seconds."""
    return np.arange(round(qps * duration_s)) / qps


def piecewise(phases: list[tuple[float, float]]) -> np.ndarray:
    """Send times for consecutive phases of (seconds, requests per second), each evenly spaced."""
    parts, start = [], 0.0
    for seconds, qps in phases:
        parts.append(start + constant(qps, seconds))
        start += seconds
    return np.concatenate(parts) if parts else np.zeros(0)


def burst_cycle(base_qps: float, duration_s: float) -> np.ndarray:
    """Seed 001's burst cycle scaled to ``base_qps``: a third at the base, a third at the peak, a third at the base."""
    third = duration_s / 3
    return piecewise([(third, base_qps), (third, base_qps * BURST_PEAK_FACTOR), (third, base_qps)])


@dataclass(frozen=True)
class TaskPattern:
    """Seed 003's client traffic: how ``requests`` task submissions are spread over time.

    ``all-at-once`` sends every request at the start; ``intervals`` waits a random time within
    ``interval_s`` before each request but the first; ``bursts`` sends batches of ``batch`` with a
    random wait before each batch but the first; ``dynamic-bursts`` does the same with a random batch
    size within ``batch_range``.
    """

    name: str
    requests: int
    interval_s: tuple[float, float] = (0.5, 2.0)
    batch: int = 10
    batch_range: tuple[int, int] = (5, 20)

    def offsets(self, seed: int = 0) -> np.ndarray:
        """The send times of this pattern (the random waits are drawn from ``seed``)."""
        rng = np.random.default_rng(seed)
        low, high = self.interval_s
        if self.name == "all-at-once":
            return np.zeros(self.requests)
        if self.name == "intervals":
            waits = rng.uniform(low, high, self.requests)
            waits[0] = 0.0
            return np.cumsum(waits)
        sizes: list[int] = []
        smallest, largest = (self.batch, self.batch) if self.name == "bursts" else self.batch_range
        while sum(sizes) < self.requests:
            size = int(rng.integers(smallest, largest + 1))
            sizes.append(min(size, self.requests - sum(sizes)))
        waits = rng.uniform(low, high, len(sizes))
        waits[0] = 0.0
        return np.repeat(np.cumsum(waits), sizes)


TASK_PATTERNS = ("all-at-once", "intervals", "bursts", "dynamic-bursts")
