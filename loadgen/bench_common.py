"""What every benchmark of the suite shares: repeats summarised by their median, and a closed-loop driver."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import pydantic_core
import uvloop

from observatory.loadgen.figures import Figure
from observatory.loadgen.transport import Pool


def spread(values: Sequence[float]) -> dict[str, float]:
    """Median, quartiles and extremes of repeated measurements."""
    ordered = sorted(values)
    quartiles = statistics.quantiles(ordered, n=4) if len(ordered) > 1 else [ordered[0]] * 3
    return {"median": statistics.median(ordered), "q1": quartiles[0], "q3": quartiles[2], "min": ordered[0],
            "max": ordered[-1]}  # fmt: skip


def figures_of(values: dict[str, tuple[list[float], str, str]]) -> dict[str, dict]:
    """Common-shape figures (the median of each list of repeats) from ``name: (repeats, unit, better)``."""
    return {name: Figure(statistics.median(r), unit, better).as_dict() for name, (r, unit, better) in values.items()}


def encode(bodies: Iterable[dict]) -> list[bytes]:
    """JSON request bodies as bytes, by pydantic-core's serialiser: ten times ``json.dumps``'s speed on floats,
    so that encoding a million vectors takes seconds of the client's time, not minutes."""
    return [pydantic_core.to_json(body) for body in bodies]


@dataclass
class Rates:
    """One closed-loop measurement."""

    requests_per_second: float
    units_per_second: float
    latencies_ms: list[float]
    failures: int
    # Each refusal's status and the start of its body, so that a failed suite says what the server answered.
    refusals: Counter[str] = field(default_factory=Counter)

    def percentile(self, p: float) -> float:
        """The ``p``-th percentile latency in milliseconds (nearest rank)."""
        ordered = sorted(self.latencies_ms) or [0.0]
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def _closed_loop(
    url: str, encoded: Sequence[bytes], concurrency: int, seconds: float, units: Callable[[bytes], float], once: bool
) -> Rates:
    latencies: list[float] = []
    totals = {"units": 0.0, "failures": 0}
    refusals: Counter[str] = Counter()
    pool = Pool(url, concurrency, timeout_s=600)

    async def client(offset: int) -> None:
        number = offset
        while number < len(encoded) if once else time.perf_counter() < deadline:
            started = time.perf_counter()
            status, payload = await pool.request("POST", "", encoded[number % len(encoded)])
            latencies.append((time.perf_counter() - started) * 1000)
            if status < 300:
                totals["units"] += units(payload)
            else:
                totals["failures"] += 1
                refusals[f"{status} {payload[:160].decode(errors='replace')}"] += 1
            number += concurrency

    started = time.perf_counter()
    deadline = started + seconds
    try:
        await asyncio.gather(*(client(offset) for offset in range(concurrency)))
    finally:
        pool.close()
    elapsed = time.perf_counter() - started
    return Rates(len(latencies) / elapsed, totals["units"] / elapsed, latencies, int(totals["failures"]), refusals)


def closed_loop(
    url: str, bodies: Sequence[bytes], concurrency: int, seconds: float,
    units: Callable[[bytes], float] = lambda _: 1, once: bool = False,
) -> Rates:  # fmt: skip
    """``concurrency`` clients POSTing ``bodies`` (encoded JSON) back to back to ``url`` for ``seconds``
    (or each body once).

    ``units`` counts what an answer carries (tokens, queries); its rate is ``units_per_second``.
    """
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(_closed_loop(url, bodies, concurrency, seconds, units, once))
