"""Inference throughput and latency at 1, 4, 8, 16 and 32 concurrent requests (seed 000's batch table).

Each target (the shard directly, and the orchestrator routing to that same shard) is driven closed-loop
at each concurrency for a fixed time, repeated; figures are the medians of the repeats. Where both
targets ran, ``orchestrator.c<N>.requests_to_direct_ratio`` is the routed rate over the direct rate of
the same repeat, the figure that survives a noisy machine: both sides of it share the noise.
"""

from __future__ import annotations

import json
from collections import Counter

from observatory.loadgen.bench_common import Rates, closed_loop, encode, figures_of, spread
from observatory.loadgen.figures import HIGHER, LOWER
from observatory.loadgen.profiles import PROMPTS

LEVELS = (1, 4, 8, 16, 32)
MAX_TOKENS = 32


def _tokens(payload: bytes) -> float:
    return float(json.loads(payload).get("completion_tokens", 0))


def bodies_for(target_kind: str, domain: str) -> list[dict]:
    """Inference bodies over every domain's prompts; the orchestrator's are routed to ``domain``'s shard."""
    return [
        {"prompt": prompt, "max_tokens": MAX_TOKENS, "temperature": 0.7}
        | ({"domain": domain} if target_kind == "orchestrator" else {})
        for prompts in PROMPTS.values()
        for prompt in prompts
    ]


class BenchError(RuntimeError):
    """A target failed requests: its figures would measure errors, not inference."""


def _row(runs: list[Rates]) -> dict[str, list[float]]:
    return {
        "requests_per_second": [r.requests_per_second for r in runs],
        "tokens_per_second": [r.units_per_second for r in runs],
        "latency_p50_ms": [r.percentile(50) for r in runs],
        "latency_p95_ms": [r.percentile(95) for r in runs],
    }


def bench_inference(
    targets: dict[str, str], levels: tuple[int, ...], seconds: float, repeats: int, domain: str = "legal"
) -> dict:
    """Requests/s, tokens/s and latency per concurrency level for each ``name: base URL`` target.

    ``domain`` is the shard's: the orchestrator is asked to route there, so both rows measure one shard.
    A failed request raises :class:`BenchError`.

    The targets take turns within each repeat, so a burst of load from elsewhere on the machine falls
    on all of them alike rather than on whichever ran last.
    """
    urls = {name: f"{base}/api/v1/inference" for name, base in targets.items()}
    bodies = {name: encode(bodies_for(name, domain)) for name in targets}
    for name, url in urls.items():
        closed_loop(url, bodies[name], 1, min(seconds, 1.0), _tokens)  # warm-up: model caches, connections
    results: dict[str, dict] = {name: {} for name in targets}
    figures: dict[str, tuple[list[float], str, str]] = {}
    for level in levels:
        runs: dict[str, list[Rates]] = {name: [] for name in targets}
        for _ in range(repeats):
            for name, url in urls.items():
                runs[name].append(closed_loop(url, bodies[name], level, seconds, _tokens))
        for name, measured_runs in runs.items():
            failures = sum(r.failures for r in measured_runs)
            if failures:
                answers = sum((r.refusals for r in measured_runs), Counter())
                said = dict(answers)
                raise BenchError(f"{name}: {failures} inference requests failed at concurrency {level}: {said}")
            measured = _row(measured_runs)
            results[name][str(level)] = {key: spread(values) for key, values in measured.items()}
            for key, values in measured.items():
                unit = "ms" if key.endswith("_ms") else key.removesuffix("_per_second") + "/s"
                figures[f"{name}.c{level}.{key}"] = (values, unit, LOWER if key.endswith("_ms") else HIGHER)
        if {"shard", "orchestrator"} <= set(runs):
            paired = zip(runs["orchestrator"], runs["shard"], strict=True)
            ratios = [routed.requests_per_second / direct.requests_per_second for routed, direct in paired
                      if direct.requests_per_second > 0]  # fmt: skip
            figures[f"orchestrator.c{level}.requests_to_direct_ratio"] = (ratios or [0.0], "ratio", HIGHER)
    return {"levels": list(levels), "max_tokens": MAX_TOKENS, "seconds": seconds, "repeats": repeats,
            "targets": results, "figures": figures_of(figures)}  # fmt: skip
