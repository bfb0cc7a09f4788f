"""Benchmarks of the orchestrator on real shards, written as JSON with ratios from one run.

* routing overhead: an inference through the orchestrator vs the same call to the shard directly,
  interleaved request by request (seed 001 targets < 2 ms of coordination per query);
* federated RAG over every shard vs the slowest of the shards searched directly, interleaved;
* seed 000's distributed reasoning table: the 10-step DAG on 1, 2 and 4 shards, its latency in parallel
  vs sequential mode and its throughput with several DAGs at once.

``python -m observatory.orchestrator.bench --out bench-results/orchestrator.json``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from observatory.stack import Stack, plan_stack

DOMAINS = ("legal", "finance", "medical", "technical")
# Seed 000's MultiShardTest.DistributedCoT: (name, depends_on, shard); "orchestrator" is any healthy shard.
SEED_DAG = (
    ("step1", (), "legal"),
    ("step2", (), "finance"),
    ("step3", (), "risk"),
    ("step4", ("step1", "step2"), "legal"),
    ("step5", ("step2", "step3"), "finance"),
    ("step6", ("step1", "step3"), "risk"),
    ("step7", ("step4", "step5"), "legal"),
    ("step8", ("step5", "step6"), "finance"),
    ("step9", ("step7", "step8"), "risk"),
    ("step10", ("step9",), "orchestrator"),
)
SEED_SHARDS = ("legal", "finance", "risk")


def seed_dag_request(mode: str = "parallel", shards: Callable[[str], str] = lambda shard: shard) -> dict[str, Any]:
    """Seed 000's 10-step DAG as a request body; ``shards`` maps the seed's shard names onto a cluster's."""
    steps = [{"name": name, "depends_on": list(deps), "shard": shards(shard)} for name, deps, shard in SEED_DAG]
    return {"task": "Analyze 500-page M&A contract", "steps": steps, "mode": mode}


def _timed(client: httpx.Client, method: str, url: str, **kwargs: Any) -> float:
    started = time.perf_counter()
    response = client.request(method, url, **kwargs)
    seconds = time.perf_counter() - started
    response.raise_for_status()
    return seconds


def _summary(samples: list[float]) -> dict[str, float]:
    quartiles = statistics.quantiles(samples, n=4)
    return {"median_ms": statistics.median(samples) * 1000, "p25_ms": quartiles[0] * 1000,
            "p75_ms": quartiles[2] * 1000, "samples": len(samples)}  # fmt: skip


def routing_overhead(client: httpx.Client, urls: dict[str, str], requests: int) -> dict[str, Any]:
    """Median latency of the same one-token inference direct and routed, request by request alternating."""
    body = {"prompt": "Legal question", "max_tokens": 1, "temperature": 0.0}
    direct, routed = [], []
    for _ in range(requests):
        direct.append(_timed(client, "POST", f"{urls['shard-legal']}/api/v1/inference", json=body))
        routed.append(_timed(client, "POST", f"{urls['orchestrator']}/api/v1/inference",
                             json=body | {"domain": "legal"}))  # fmt: skip
    overhead = [r - d for r, d in zip(routed, direct, strict=True)]
    return {
        "direct": _summary(direct),
        "routed": _summary(routed),
        "overhead_median_ms": statistics.median(overhead) * 1000,
        "routed_to_direct_latency_ratio": statistics.median(routed) / statistics.median(direct),
        "seed_001_target_ms": 2.0,
    }


def federated_rag(client: httpx.Client, urls: dict[str, str], rounds: int) -> dict[str, Any]:
    """Federated RAG over every shard vs each shard searched directly, interleaved round by round."""
    for domain in DOMAINS:
        documents = [{"domain": domain, "text": f"{domain} clause {n}: terms, risks and obligations number {n}."}
                     for n in range(20)]  # fmt: skip
        for document in documents:
            client.post(f"{urls['orchestrator']}/api/v1/documents", json=document).raise_for_status()
    query = {"text": "What are the financial risks in this contract?", "k": 10}
    per_shard: dict[str, list[float]] = {domain: [] for domain in DOMAINS}
    fan_out = []
    for _ in range(rounds):
        for domain in DOMAINS:
            per_shard[domain].append(
                _timed(client, "POST", f"{urls[f'shard-{domain}']}/api/v1/federated/search", json=query)
            )
        fan_out.append(_timed(client, "POST", f"{urls['orchestrator']}/api/v1/rag",
                              json={"query": query["text"], "domains": list(DOMAINS), "top_k": 10}))  # fmt: skip
    slowest = max(statistics.median(samples) for samples in per_shard.values())
    return {
        "shards": len(DOMAINS),
        "federated": _summary(fan_out),
        "per_shard_median_ms": {domain: statistics.median(s) * 1000 for domain, s in per_shard.items()},
        "slowest_shard_median_ms": slowest * 1000,
        "federated_to_slowest_shard_latency_ratio": statistics.median(fan_out) / slowest,
    }


def dag_speedup(client: httpx.Client, urls: dict[str, str], runs: int, concurrency: int) -> dict[str, Any]:
    """Seed 000's distributed reasoning table: the DAG on 1, 2 and 4 shards, latency and throughput.

    Latency: one DAG at a time, parallel and sequential runs alternating. Throughput: ``runs`` parallel
    DAGs sent ``concurrency`` at a time, completed per second (seed 000's req/s column).
    """
    rows = {}
    for count in (1, 2, 4):
        used = DOMAINS[:count]

        def place(shard: str, used: tuple[str, ...] = used) -> str:
            index = SEED_SHARDS.index(shard) if shard in SEED_SHARDS else 0
            return used[index % len(used)]

        url = f"{urls['orchestrator']}/api/v1/reasoning/dag"
        bodies = {mode: seed_dag_request(mode, place) | {"max_tokens": 16} for mode in ("parallel", "sequential")}
        latency: dict[str, list[float]] = {"parallel": [], "sequential": []}
        for _ in range(runs):
            for mode in latency:
                latency[mode].append(_timed(client, "POST", url, json=bodies[mode]))
        started = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            sent = [pool.submit(_timed, client, "POST", url, json=bodies["parallel"]) for _ in range(runs)]
            for future in sent:
                future.result()
        elapsed = time.perf_counter() - started
        parallel, sequential = (statistics.median(latency[mode]) for mode in ("parallel", "sequential"))
        rows[f"{count}_shards"] = {
            "parallel_latency_seconds": parallel,
            "sequential_latency_seconds": sequential,
            "speedup": sequential / parallel,
            "throughput_per_second": runs / elapsed,
            "concurrent_dags": concurrency,
        }
    return rows


def run(workdir: Path, cache_dir: Path, requests: int, rounds: int, runs: int) -> dict[str, Any]:
    """Start four shards and an orchestrator, measure, stop them."""
    plan = plan_stack(DOMAINS, workdir, exporters=False,
                      shard_config=lambda _d: {"cache_dir": str(cache_dir), "n_threads": 1, "max_in_flight": 64})
    stack = Stack(plan.services, workdir)
    stack.start()
    try:
        urls = {service.name: service.url for service in plan.services}
        with httpx.Client(timeout=120) as client:
            routing_overhead(client, urls, 10)  # warm-up: connections, llama.cpp caches
            return {
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                "routing_overhead": routing_overhead(client, urls, requests),
                "federated_rag": federated_rag(client, urls, rounds),
                "dag_10_steps": dag_speedup(client, urls, runs, concurrency=4),
            }
    finally:
        stack.stop()


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the benchmarks and write JSON to ``--out``."""
    prog = "python -m observatory.orchestrator.bench"
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="the JSON file to write")
    parser.add_argument("--requests", type=int, default=200, help="paired inferences for the routing overhead")
    parser.add_argument("--rounds", type=int, default=30, help="paired rounds of the federated RAG comparison")
    parser.add_argument("--runs", type=int, default=5, help="DAG runs per mode and shard count")
    parser.add_argument("--cache-dir", type=Path, help="model cache (default: a temporary directory)")
    args = parser.parse_args(argv)
    if min(args.requests, args.rounds, args.runs) < 2:
        sys.stderr.write("bench: --requests, --rounds and --runs must be at least 2\n")
        return 2
    with tempfile.TemporaryDirectory() as scratch:
        results = run(Path(scratch), args.cache_dir or Path(scratch) / "cache", args.requests, args.rounds, args.runs)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    sys.stdout.write(json.dumps(results, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
