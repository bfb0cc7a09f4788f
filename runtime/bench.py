"""Benchmarks of the shard runtime, written as JSON with ratios from one run.

* search throughput through the service (HTTP, request queue, micro-batches) vs the same FAISS
  index called in-process;
* generated tokens per second through the service vs llama-cpp-python called directly;
* the service's throughput with metrics on vs off (the cost of instrumentation).

``python -m observatory.runtime.bench --out bench-results/runtime.json``
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import llama_cpp
import numpy as np
from observatory.runtime.metrics import ShardMetrics
from observatory.runtime.settings import ShardSettings
from observatory.runtime.tinymodel import ensure_default_model
from observatory.runtime.vectors import VectorIndex

DIM = 64


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def shard_process(cache_dir: Path, *flags: str) -> Iterator[str]:
    """A shard process on a free loopback port; yields its base URL once started."""
    port = _free_port()
    script = Path(sys.executable).with_name("observatory-shard")
    argv = [str(script), "--domain", "legal", "--port", str(port), "--cache-dir", str(cache_dir),
            "--max-in-flight", "256", "--log-level", "warning", *flags]  # fmt: skip
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/startup", timeout=2).status_code == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the shard did not start (exit {process.poll()})")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else 0.0


def concurrent_rate(work: Callable[[httpx.Client], int], workers: int, seconds: float) -> float:
    """Units of ``work`` per second, from ``workers`` threads calling it for ``seconds``."""

    def worker() -> int:
        done = 0
        with httpx.Client(timeout=30) as client:
            deadline = time.perf_counter() + seconds
            while time.perf_counter() < deadline:
                done += work(client)
        return done

    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        total = sum(pool.map(lambda _: worker(), range(workers)))
    return _rate(total, time.perf_counter() - started)


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

    service = concurrent_rate(one_search, workers=8, seconds=seconds)
    defaults = ShardSettings(domain="bench")
    index = VectorIndex(DIM, defaults.index_kind, defaults.ivf_nlist, defaults.ivf_nprobe)
    index.add(vectors, [None] * len(vectors))
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        index.search(queries[count % len(queries)], k)
        count += 1
    in_process = _rate(count, time.perf_counter() - started)
    return {
        "vectors": len(vectors),
        "k": k,
        "service_queries_per_second": service,
        "in_process_queries_per_second": in_process,
        "service_to_in_process_ratio": service / in_process,
    }


def bench_tokens(base: str, model: Path, max_tokens: int, rounds: int) -> dict:
    """Generated tokens/s through the service vs llama-cpp-python called directly."""
    prompt = "Analyze this contract clause for risk"
    body = {"prompt": prompt, "max_tokens": max_tokens, "temperature": 0.7}
    with httpx.Client(timeout=60) as client:
        tokens, started = 0, time.perf_counter()
        for _ in range(rounds):
            response = client.post(f"{base}/api/v1/inference", json=body)
            response.raise_for_status()
            tokens += response.json()["completion_tokens"]
        service = _rate(tokens, time.perf_counter() - started)
    llm = llama_cpp.Llama(model_path=str(model), n_ctx=2048, seed=1234, verbose=False)
    tokens, started = 0, time.perf_counter()
    for _ in range(rounds):
        tokens += llm.create_completion(prompt, max_tokens=max_tokens, temperature=0.7)["usage"]["completion_tokens"]
    direct = _rate(tokens, time.perf_counter() - started)
    llm.close()
    return {
        "max_tokens": max_tokens,
        "requests": rounds,
        "service_tokens_per_second": service,
        "direct_tokens_per_second": direct,
        "service_to_direct_ratio": service / direct,
    }


def mixed_rate(base: str, queries: np.ndarray, seconds: float) -> float:
    """Requests/s of a mixed load: three searches to one short inference, four workers."""
    bodies = [{"vector": q, "k": 10} for q in queries.tolist()]

    def work(client: httpx.Client) -> int:
        for body in bodies[:3]:
            client.post(f"{base}/api/v1/search", json=body).raise_for_status()
        client.post(f"{base}/api/v1/inference", json={"prompt": "Hello", "max_tokens": 8}).raise_for_status()
        return 4

    return concurrent_rate(work, workers=4, seconds=seconds)


def bench_metrics_cost(cache_dir: Path, vectors: np.ndarray, queries: np.ndarray, seconds: float, rounds: int) -> dict:
    """Mixed-load throughput with metrics on and off, in alternating rounds (medians)."""
    rates: dict[str, list[float]] = {"on": [], "off": []}
    with shard_process(cache_dir) as on, shard_process(cache_dir, "--no-metrics") as off:
        for base in (on, off):
            httpx.post(f"{base}/api/v1/documents", json={"documents": [{"vector": v} for v in vectors[:256].tolist()]})
        for _ in range(rounds):
            for name, base in (("on", on), ("off", off)):
                rates[name].append(mixed_rate(base, queries, seconds))
    # Other work on a shared machine only ever slows a round down: the best round is the least disturbed.
    on_rate, off_rate = max(rates["on"]), max(rates["off"])
    recording = recording_cost()
    return {
        "rounds": rounds,
        "metrics_on_requests_per_second": on_rate,
        "metrics_off_requests_per_second": off_rate,
        "on_to_off_ratio": on_rate / off_rate,
        "metrics_cost_percent": (1 - on_rate / off_rate) * 100,
        "median_on_to_off_ratio": statistics.median(rates["on"]) / statistics.median(rates["off"]),
        "target_cost_percent": 3.0,
        "all_rounds": rates,
        "recording_microseconds": recording,
        "recording_cost_percent_of_a_request": recording["mixed_request"] * off_rate / 1e6 * 100,
    }


def recording_cost(repeat: int = 20000) -> dict:
    """Microseconds the metric calls of one request take, measured in-process without HTTP noise."""
    metrics = ShardMetrics("bench", "legal", "model", "0")
    stages = {"tokenize": 1e-5, "prompt_eval": 1e-3, "generation": 1e-2}

    def per_call(record: Callable[[], None]) -> float:
        started = time.perf_counter()
        for _ in range(repeat):
            record()
        return (time.perf_counter() - started) / repeat * 1e6

    def admission() -> None:
        metrics.in_flight(1, 16)
        metrics.in_flight(0, 16)

    def search() -> None:
        admission()
        metrics.search(0.001, "success")
        metrics.search_batch(1, 0.0005)

    def inference() -> None:
        admission()
        metrics.inference(0.01, 8, 8, 8, stages, 0.01)

    search_us, inference_us = per_call(search), per_call(inference)
    return {"search": search_us, "inference": inference_us, "mixed_request": (3 * search_us + inference_us) / 4}


def run(seconds: float, cache_dir: Path) -> dict:
    """Every benchmark, one run."""
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((2000, DIM)).astype(np.float32)
    queries = rng.standard_normal((64, DIM)).astype(np.float32)
    model = ensure_default_model(cache_dir)
    with shard_process(cache_dir) as base:
        search = bench_search(base, vectors, queries, 10, seconds)
        tokens = bench_tokens(base, model, 128, 20)
    return {
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version()},
        "model": model.name,
        "search": search,
        "tokens": tokens,
        "metrics_cost": bench_metrics_cost(cache_dir, vectors, queries, seconds, rounds=5),
    }


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the benchmarks and write JSON to ``--out``."""
    parser = argparse.ArgumentParser(prog="python -m observatory.runtime.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="the JSON file to write")
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each throughput measurement")
    parser.add_argument("--cache-dir", type=Path, help="model cache (default: a temporary directory)")
    args = parser.parse_args(argv)
    if args.seconds <= 0:
        sys.stderr.write("bench: --seconds must be positive\n")
        return 2
    with tempfile.TemporaryDirectory() as scratch:
        results = run(args.seconds, args.cache_dir or Path(scratch))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    cost = results["metrics_cost"]
    summary = {k: results[k] for k in ("search", "tokens")} | {
        k: cost[k] for k in ("metrics_cost_percent", "recording_cost_percent_of_a_request")
    }
    sys.stdout.write(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
