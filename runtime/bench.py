"""Benchmarks of the shard runtime, written as JSON with ratios from one run.

* search throughput through the service (HTTP, request queue, micro-batches) vs the same FAISS
  index called in-process;
* generated tokens per second through the shard vs llama-cpp-python called directly vs llama-cpp-python's
  own OpenAI-compatible server (``llama_cpp.server``), and probe latency under saturation
  (:mod:`observatory.runtime.bench_serving`);
* the service's throughput with metrics on vs off (the cost of instrumentation).

``python -m observatory.runtime.bench --out bench-results/runtime.json``
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
from pathlib import Path

import httpx
import numpy as np

from observatory.runtime.bench_harness import LoadGenerator, per_second, shard_process, spread
from observatory.runtime.bench_serving import bench_probes, bench_tokens
from observatory.runtime.metrics import ShardMetrics
from observatory.runtime.settings import ShardSettings
from observatory.runtime.tinymodel import ensure_default_model
from observatory.runtime.vectors import VectorIndex

DIM = 64


def bench_search(base: str, vectors: np.ndarray, queries: np.ndarray, k: int, seconds: float) -> dict:
    """Queries/s through the service vs the same index in-process."""
    for start in range(0, len(vectors), 256):
        batch = vectors[start : start + 256]
        response = httpx.post(f"{base}/api/v1/documents", json={"documents": [{"vector": v} for v in batch.tolist()]})
        response.raise_for_status()
    bodies = [{"vector": q, "k": k} for q in queries.tolist()]

    def one_search(client: httpx.Client) -> int:
        body = bodies[int(time.perf_counter_ns()) % len(bodies)]
        client.post(f"{base}/api/v1/search", json=body).raise_for_status()
        return 1

    load = LoadGenerator(workers=8)
    try:
        service = load.rate(one_search, seconds)
    finally:
        load.close()
    defaults = ShardSettings(domain="bench")
    index = VectorIndex(DIM, defaults.index_kind, defaults.ivf_nlist, defaults.ivf_nprobe)
    index.add(vectors, [None] * len(vectors))
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        index.search(queries[count % len(queries)], k)
        count += 1
    in_process = per_second(count, time.perf_counter() - started)
    return {
        "vectors": len(vectors),
        "k": k,
        "service_queries_per_second": service,
        "in_process_queries_per_second": in_process,
        "service_to_in_process_ratio": service / in_process,
    }


def mixed_work(base: str, queries: np.ndarray) -> Callable[[httpx.Client], int]:
    """One unit of a mixed load on ``base``: three searches and one short inference (four requests)."""
    bodies = [{"vector": q, "k": 10} for q in queries[:3].tolist()]

    def work(client: httpx.Client) -> int:
        for body in bodies:
            client.post(f"{base}/api/v1/search", json=body).raise_for_status()
        client.post(f"{base}/api/v1/inference", json={"prompt": "Hello", "max_tokens": 8}).raise_for_status()
        return 4

    return work


def bench_metrics_cost(
    cache_dir: Path, vectors: np.ndarray, queries: np.ndarray, round_seconds: float, rounds: int
) -> dict:
    """Mixed-load throughput with metrics on vs off: two shards side by side, many short paired rounds.

    Each round loads one shard, then the other (the order alternates, so a drift in the machine's
    speed favours neither), and yields one on/off ratio; the median of those paired ratios is
    robust to the rounds another process disturbed, and the quartiles show how noisy the run was.
    """
    rates: dict[str, list[float]] = {"on": [], "off": []}
    load = LoadGenerator(workers=4)
    with shard_process(cache_dir) as on, shard_process(cache_dir, "--no-metrics") as off:
        work = {"on": mixed_work(on, queries), "off": mixed_work(off, queries)}
        for base in (on, off):
            httpx.post(f"{base}/api/v1/documents", json={"documents": [{"vector": v} for v in vectors[:256].tolist()]})
        for name in work:
            load.rate(work[name], round_seconds)  # warm-up: connections, caches, allocator
        for round_number in range(rounds):
            order = ("on", "off") if round_number % 2 == 0 else ("off", "on")
            for name in order:
                rates[name].append(load.rate(work[name], round_seconds))
        load.close()
    ratios = [on_rate / off_rate for on_rate, off_rate in zip(rates["on"], rates["off"], strict=True)]
    ratio = spread(ratios)
    recording = recording_cost()
    off_median = statistics.median(rates["off"])
    return {
        "rounds": rounds,
        "round_seconds": round_seconds,
        "paired_on_to_off_ratio": ratio,
        "metrics_cost_percent": (1 - ratio["median"]) * 100,
        "metrics_cost_percent_quartiles": [(1 - ratio["q3"]) * 100, (1 - ratio["q1"]) * 100],
        "target_cost_percent": 3.0,
        "metrics_on_requests_per_second": spread(rates["on"]),
        "metrics_off_requests_per_second": spread(rates["off"]),
        "all_rounds": rates,
        "recording_microseconds": recording,
        "recording_cost_percent_of_a_request": recording["mixed_request"] * off_median / 1e6 * 100,
    }


def recording_cost(repeat: int = 20000) -> dict:
    """Microseconds the metric calls of one successful request add, measured in-process without HTTP.

    Each call is timed with metrics on and off and the difference kept, so the loop and the call
    itself are not counted. A search is charged a whole micro-batch, its worst case.
    """
    stages = {"tokenize": 1e-5, "prompt_eval": 1e-3, "generation": 1e-2}

    def per_call(record: Callable[[], None]) -> float:
        started = time.perf_counter()
        for _ in range(repeat):
            record()
        return (time.perf_counter() - started) / repeat * 1e6

    def cost(enabled: bool) -> dict[str, float]:
        metrics = ShardMetrics("bench", "legal", "model", "0", enabled)

        def search() -> None:
            metrics.search(0.001)
            metrics.search_batch(1, 0.0005)

        def inference() -> None:
            metrics.inference(0.01, 8, 8, 8, stages, 0.01)
            metrics.serving(0.001, 0.002, 0.0005)
            metrics.inference_finished("length")

        return {"search": per_call(search), "inference": per_call(inference)}

    on, off = cost(True), cost(False)
    search_us, inference_us = on["search"] - off["search"], on["inference"] - off["inference"]
    return {"search": search_us, "inference": inference_us, "mixed_request": (3 * search_us + inference_us) / 4}


def run(seconds: float, cache_dir: Path, rounds: int, round_seconds: float) -> dict:
    """Every benchmark, one run."""
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((2000, DIM)).astype(np.float32)
    queries = rng.standard_normal((64, DIM)).astype(np.float32)
    model = ensure_default_model(cache_dir)
    with shard_process(cache_dir) as base:
        search = bench_search(base, vectors, queries, 10, seconds)
    return {
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version()},
        "model": model.name,
        "search": search,
        "tokens": bench_tokens(cache_dir, model, 256, 30),
        "probes_under_saturation": bench_probes(cache_dir, seconds),
        "metrics_cost": bench_metrics_cost(cache_dir, vectors, queries, round_seconds, rounds),
    }


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the benchmarks and write JSON to ``--out``."""
    parser = argparse.ArgumentParser(prog="python -m observatory.runtime.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="the JSON file to write")
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each throughput measurement")
    parser.add_argument("--rounds", type=int, default=30, help="paired rounds of the metrics on/off comparison")
    parser.add_argument("--round-seconds", type=float, default=0.75, help="duration of each shard's turn in a round")
    parser.add_argument("--cache-dir", type=Path, help="model cache (default: a temporary directory)")
    args = parser.parse_args(argv)
    if min(args.seconds, args.round_seconds) <= 0 or args.rounds < 2:
        sys.stderr.write("bench: durations must be positive and --rounds at least 2\n")
        return 2
    with tempfile.TemporaryDirectory() as scratch:
        results = run(args.seconds, args.cache_dir or Path(scratch), args.rounds, args.round_seconds)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    cost = results["metrics_cost"]
    shown = ("metrics_cost_percent", "metrics_cost_percent_quartiles", "recording_microseconds",
             "recording_cost_percent_of_a_request")  # fmt: skip
    summary = {k: results[k] for k in ("search", "tokens", "probes_under_saturation")} | {k: cost[k] for k in shown}
    sys.stdout.write(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
