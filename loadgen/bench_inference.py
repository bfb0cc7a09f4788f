"""Inference throughput and latency at 1, 4, 8, 16 and 32 concurrent requests (seed 000's batch table).

Each target (the shard; the orchestrator once it runs, given by URL) is driven closed-loop at each
concurrency for a fixed time, repeated; figures are the medians of the repeats.
"""

from __future__ import annotations

import json

from observatory.loadgen.bench_common import closed_loop, figures_of, spread
from observatory.loadgen.figures import HIGHER, LOWER
from observatory.loadgen.profiles import PROMPTS

LEVELS = (1, 4, 8, 16, 32)
MAX_TOKENS = 32


def _tokens(payload: bytes) -> float:
    return float(json.loads(payload).get("completion_tokens", 0))


def bodies_for(target_kind: str) -> list[dict]:
    """Inference bodies over every domain's prompts (the orchestrator routes by ``domain``)."""
    return [
        {"prompt": prompt, "max_tokens": MAX_TOKENS, "temperature": 0.7}
        | ({"domain": domain} if target_kind == "orchestrator" else {})
        for domain, prompts in PROMPTS.items()
        for prompt in prompts
    ]


def bench_inference(targets: dict[str, str], levels: tuple[int, ...], seconds: float, repeats: int) -> dict:
    """Requests/s, tokens/s and latency per concurrency level for each ``name: base URL`` target."""
    results: dict[str, dict] = {}
    figures: dict[str, tuple[list[float], str, str]] = {}
    for name, base in targets.items():
        bodies = bodies_for(name)
        url = f"{base}/api/v1/inference"
        closed_loop(url, bodies, 1, min(seconds, 1.0), _tokens)  # warm-up: model caches, connections
        rows = {}
        for level in levels:
            runs = [closed_loop(url, bodies, level, seconds, _tokens) for _ in range(repeats)]
            measured = {
                "requests_per_second": [r.requests_per_second for r in runs],
                "tokens_per_second": [r.units_per_second for r in runs],
                "latency_p50_ms": [r.percentile(50) for r in runs],
                "latency_p95_ms": [r.percentile(95) for r in runs],
            }
            rows[str(level)] = {key: spread(values) for key, values in measured.items()} | {
                "failures": sum(r.failures for r in runs)
            }
            for key, values in measured.items():
                unit = "ms" if key.endswith("_ms") else key.removesuffix("_per_second") + "/s"
                figures[f"{name}.c{level}.{key}"] = (values, unit, LOWER if key.endswith("_ms") else HIGHER)
        results[name] = rows
    return {"levels": list(levels), "max_tokens": MAX_TOKENS, "seconds": seconds, "repeats": repeats,
            "targets": results, "figures": figures_of(figures)}  # fmt: skip
