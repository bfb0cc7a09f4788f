"""Serving benchmarks: generated tokens/s through the shard, llama-cpp-python called directly and llama-cpp-python's
OpenAI-compatible server on the same model, side by side; and the shard's probe latency while it is saturated."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import llama_cpp

from observatory.runtime.bench_harness import llama_cpp_server, per_second, shard_process, spread
from observatory.runtime.settings import ShardSettings

PROMPT = "Analyze this contract clause for risk"
PROBES = ("/health", "/ready", "/startup", "/metrics")


def _completion_tokens(client: httpx.Client, url: str, body: dict) -> int:
    response = client.post(url, json=body)
    response.raise_for_status()
    answer = response.json()
    # The shard's answer carries the count itself; the OpenAI-style one under "usage".
    return answer.get("usage", answer)["completion_tokens"]


def bench_tokens(cache_dir: Path, model: Path, max_tokens: int, rounds: int) -> dict:
    """Generated tokens/s of one client through the shard, llama_cpp.server and llama-cpp-python in-process.

    The three take turns within each round (the order rotates, so a drift in the machine's speed
    favours none); each request's rate is its tokens over its wall time, HTTP included for the servers.
    """
    defaults = ShardSettings(domain="bench")
    body = {"prompt": PROMPT, "max_tokens": max_tokens, "temperature": 0.7}
    llm = llama_cpp.Llama(model_path=str(model), n_ctx=defaults.n_ctx, seed=defaults.seed, verbose=False)
    with (
        shard_process(cache_dir) as shard,
        llama_cpp_server(model, defaults.n_ctx, defaults.seed) as server,
        httpx.Client(timeout=120) as client,
    ):
        runners: dict[str, Callable[[], int]] = {
            "shard": lambda: _completion_tokens(client, f"{shard}/api/v1/inference", body),
            "llama_cpp_server": lambda: _completion_tokens(client, f"{server}/v1/completions", body),
            "direct": lambda: llm.create_completion(**body)["usage"]["completion_tokens"],
        }
        for run in runners.values():
            run()  # warm-up: connections, caches, allocator
        rates: dict[str, list[float]] = {name: [] for name in runners}
        names = list(runners)
        for round_number in range(rounds):
            shift = round_number % len(names)
            for name in names[shift:] + names[:shift]:
                started = time.perf_counter()
                tokens = runners[name]()
                rates[name].append(per_second(tokens, time.perf_counter() - started))
    llm.close()
    median = {name: statistics.median(values) for name, values in rates.items()}
    return {
        "max_tokens": max_tokens,
        "rounds": rounds,
        "tokens_per_second": {name: spread(values) for name, values in rates.items()},
        "shard_to_direct_ratio": median["shard"] / median["direct"],
        "shard_to_llama_cpp_server_ratio": median["shard"] / median["llama_cpp_server"],
        "llama_cpp_server_to_direct_ratio": median["llama_cpp_server"] / median["direct"],
    }


def bench_probes(cache_dir: Path, seconds: float, generators: int = 4, searchers: int = 2) -> dict:
    """Latency of each probe and ``/metrics`` while ``generators`` clients keep long generations queued at
    the model and ``searchers`` clients search, for ``seconds``."""
    stop = threading.Event()
    answered = {"inference": 0, "search": 0}
    with shard_process(cache_dir) as base, ThreadPoolExecutor(generators + searchers) as load:
        vectors = [[float((i * 3 + j) % 11) for j in range(64)] for i in range(200)]
        httpx.post(f"{base}/api/v1/documents", json={"documents": [{"vector": v} for v in vectors]}).raise_for_status()

        def keep_busy(path: str, body: dict, kind: str) -> None:
            with httpx.Client(timeout=120) as client:
                while not stop.is_set():
                    client.post(f"{base}{path}", json=body).raise_for_status()
                    answered[kind] += 1

        generation = {"prompt": PROMPT, "max_tokens": 1500}
        workers = [load.submit(keep_busy, "/api/v1/inference", generation, "inference") for _ in range(generators)]
        workers += [load.submit(keep_busy, "/api/v1/search", {"text": "contract risk", "k": 5}, "search")
                    for _ in range(searchers)]  # fmt: skip
        latencies: dict[str, list[float]] = {path: [] for path in PROBES}
        try:
            time.sleep(0.5)  # the line fills
            with httpx.Client(timeout=30) as prober:
                deadline = time.monotonic() + seconds
                while time.monotonic() < deadline:
                    for path in PROBES:
                        started = time.perf_counter()
                        prober.get(f"{base}{path}").raise_for_status()
                        latencies[path].append(time.perf_counter() - started)
                    time.sleep(0.01)
        finally:
            stop.set()
            for worker in workers:
                worker.result()
    return {
        "seconds": seconds,
        "generating_clients": generators,
        "searching_clients": searchers,
        "answered_during_run": answered,
        "probe_seconds": {path: _latency(times) for path, times in latencies.items()},
        "seed_probe_timeouts_seconds": {"/health": 5, "/ready": 3, "/startup": 5},
    }


def _latency(times: list[float]) -> dict:
    p99 = statistics.quantiles(times, n=100, method="inclusive")[98]
    return {"p50": statistics.median(times), "p99": p99, "max": max(times), "probes": len(times)}
