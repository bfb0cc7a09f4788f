"""The OpenAI-compatible API under independent clients: aiperf beside the load generator, tokens/s, agreement.

For each target serving ``/v1`` (the shard, and the orchestrator routing to it when it serves the API) and
each concurrency, aiperf and the ``openai`` profile run the same closed loop one after the other; the
figures are aiperf's TTFT, inter-token latency and output tokens/s, with the load generator's beside them
as ratios (1.0: the two clients measured the same). Whole completions give the tokens/s of the OpenAI
path against the shard's native API and against llama-cpp-python's own server on the same model. The
agreement table compares aiperf's run at the middle concurrency with what Prometheus computed from the
shard's series over it (:mod:`observatory.loadgen.agreement`).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from observatory.config import DEFAULT_CONFIG
from observatory.loadgen.agreement import (
    ClientWindow,
    as_dicts,
    compare_counts,
    compare_latencies,
    prometheus_query,
    table,
)
from observatory.loadgen.aiperf import AiperfResult, AiperfRun, run_aiperf
from observatory.loadgen.bench_common import closed_loop, encode, figures_of, spread
from observatory.loadgen.figures import HIGHER, LOWER, UNKNOWN
from observatory.loadgen.profiles import PROMPTS
from observatory.runtime.bench_harness import llama_cpp_server
from observatory.runtime.tinymodel import ensure_default_model
from observatory.runtime.tinytokenizer import write_tokenizer
from observatory.stack import Stack, plan_stack

LEVELS = (1, 4, 16)
OUTPUT_TOKENS = 32
SHARD_JOB = "themisdb-shards"


@contextlib.contextmanager
def openai_stack(workdir: Path) -> Iterator[dict[str, str]]:
    """One shard, its exporters, an orchestrator routing to it, and Prometheus scraping them every second.

    Yields the base URLs of ``shard``, ``orchestrator`` and ``prometheus``.
    """
    shard_settings = {"cache_dir": str(workdir / "cache"), "max_in_flight": 256}
    plan = plan_stack(("legal",), workdir, shard_config=lambda _domain: shard_settings, monitoring=DEFAULT_CONFIG)
    stack = Stack(plan.services, workdir)
    stack.start()
    try:
        urls = {service.name: service.url for service in plan.services}
        yield {"shard": urls["shard-legal"], "orchestrator": urls["orchestrator"], "prometheus": urls["prometheus"]}
    finally:
        stack.stop()


def _models(base: str) -> list[str]:
    import httpx

    try:
        response = httpx.get(f"{base}/v1/models", timeout=10)
    except httpx.HTTPError:
        return []
    return [m["id"] for m in response.json().get("data", [])] if response.status_code == 200 else []


def _loadgen(base: str, model: str, concurrency: int, requests: int, out: Path) -> dict:
    """The openai profile as a closed loop of ``concurrency`` (every request due at once, none dropped)."""
    script = Path(sys.executable).with_name("observatory-loadgen")
    argv = [str(script), "run", "--target", base, "--profile", "openai", "--model", model, "--max-tokens",
            str(OUTPUT_TOKENS), "--workers", str(concurrency), "--qps", "1000", "--duration", str(requests / 1000),
            "--drain", "600", "--no-progress", "--output", str(out)]  # fmt: skip
    subprocess.run(argv, check=True, capture_output=True, timeout=900)
    return json.loads(out.read_text())


def _ratios(aiperf: AiperfResult, streaming: dict) -> dict[str, float]:
    return {
        "loadgen_to_aiperf_ttft_p50_ratio": streaming["ttft_uncorrected_ms"]["p50"]
        / aiperf.latency("time_to_first_token", "p50"),
        # Means, not medians: the tiny model's tokens often arrive together, and a median gap of 0 ms has no ratio.
        "loadgen_to_aiperf_itl_mean_ratio": streaming["time_per_output_token_ms"]["mean"]
        / aiperf.latency("inter_token_latency", "avg"),
        "loadgen_to_aiperf_throughput_ratio": streaming["output_tokens_per_second"] / aiperf.output_tokens_per_second,
    }


def _tokens(payload: bytes) -> float:
    body = json.loads(payload)
    usage = body.get("usage") or {}
    return float(usage.get("completion_tokens", body.get("completion_tokens", 0)))


def bench_tokens(shard: str, model: str, model_path: Path, seconds: float, repeats: int) -> dict:
    """Generated tokens/s of whole completions: the shard's OpenAI path, its native path, llama_cpp.server."""
    prompts = [p for pair in PROMPTS.values() for p in pair]
    openai = [{"model": model, "prompt": p, "max_tokens": OUTPUT_TOKENS, "ignore_eos": True} for p in prompts]
    native = [{"prompt": p, "max_tokens": OUTPUT_TOKENS} for p in prompts]
    rates: dict[str, list[float]] = {"openai": [], "native": [], "llama_cpp_server": []}
    with llama_cpp_server(model_path, 2048, 1) as server:
        urls = {"openai": (f"{shard}/v1/completions", openai), "native": (f"{shard}/api/v1/inference", native),
                "llama_cpp_server": (f"{server}/v1/completions", openai)}  # fmt: skip
        for url, bodies in urls.values():
            closed_loop(url, encode(bodies), 1, min(seconds, 1.0), _tokens)  # warm-up
        for _ in range(repeats):
            for name, (url, bodies) in urls.items():
                rates[name].append(closed_loop(url, encode(bodies), 1, seconds, _tokens).units_per_second)
    return {
        "tokens_per_second": {name: spread(values) for name, values in rates.items()},
        "openai_to_native": [o / n for o, n in zip(rates["openai"], rates["native"], strict=True)],
        "openai_to_llama_cpp_server": [o / s for o, s in zip(rates["openai"], rates["llama_cpp_server"], strict=True)],
    }


def bench_openai(targets: dict[str, str], prometheus: str, aiperf: str, levels: tuple[int, ...], seconds: float,
                 repeats: int) -> dict:  # fmt: skip
    """aiperf and the load generator per target and concurrency, tokens/s by path, the agreement table."""
    figures: dict[str, tuple[list[float], str, str]] = {}
    results: dict[str, dict] = {}
    agreement: dict[str, list[dict]] = {}
    markdown = []
    query = prometheus_query(prometheus)
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        tokenizer = write_tokenizer(work / "tokenizer")
        shard_models = _models(targets["shard"])
        served = {name: url for name, url in targets.items() if _models(url)}
        for name, base in served.items():
            model = shard_models[0] if name == "shard" else "legal"
            for level in levels:
                requests = max(8, 4 * level)
                run = AiperfRun(base, model, tokenizer, level, requests, output_tokens=OUTPUT_TOKENS)
                middle = name == "shard" and level == levels[len(levels) // 2]
                with ClientWindow(query, SHARD_JOB) as window:
                    measured = run_aiperf(aiperf, run, work / f"aiperf-{name}-{level}")
                if middle:
                    rows = compare_counts(query, window.window, 'shard="legal"', {
                        "requests": measured.request_count,
                        "prompt_tokens": measured.total("input_sequence_length"),
                        "generated_tokens": measured.total("output_sequence_length"),
                    })  # fmt: skip
                    latencies = {f: [ms / 1000 for ms in measured.per_request(f)] for f in
                                 ("time_to_first_token", "inter_token_latency", "request_latency")}  # fmt: skip
                    rows += compare_latencies(query, window.window, 'shard="legal"', latencies)
                    agreement[f"aiperf against the shard at concurrency {level}"] = as_dicts(rows)
                    markdown.append(table(f"aiperf against the shard at concurrency {level}", rows))
                streaming = _loadgen(base, model, level, requests, work / f"loadgen-{name}-{level}.json")["summary"][
                    "streaming"
                ]
                row = {
                    "aiperf_ttft_p50_ms": measured.latency("time_to_first_token", "p50"),
                    "aiperf_itl_mean_ms": measured.latency("inter_token_latency", "avg"),
                    "aiperf_output_tokens_per_second": measured.output_tokens_per_second,
                    **_ratios(measured, streaming),
                }
                results.setdefault(name, {})[str(level)] = row
                for key, value in row.items():
                    unit = "ratio" if key.endswith("_ratio") else "ms" if key.endswith("_ms") else "tokens/s"
                    # A client ratio is best at 1.0, neither higher nor lower: shown, not gated.
                    better = LOWER if key.endswith("_ms") else HIGHER if unit == "tokens/s" else UNKNOWN
                    figures[f"{name}.c{level}.{key}"] = ([value], unit, better)
        tokens = bench_tokens(targets["shard"], shard_models[0], ensure_default_model(work / "cache"), seconds,
                              repeats)  # fmt: skip
    figures["tokens.openai_to_native_ratio"] = (tokens["openai_to_native"], "ratio", HIGHER)
    figures["tokens.openai_to_llama_cpp_server_ratio"] = (tokens["openai_to_llama_cpp_server"], "ratio", HIGHER)
    return {"levels": list(levels), "output_tokens": OUTPUT_TOKENS, "targets": results, "tokens": tokens,
            "unserved": sorted(set(targets) - set(served)), "agreement": agreement,
            "agreement_markdown": "\n".join(markdown), "figures": figures_of(figures)}  # fmt: skip
