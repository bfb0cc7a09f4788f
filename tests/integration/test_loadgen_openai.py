"""The load generator's openai profile against real streaming servers: token timings, coordinated omission, goodput."""

from __future__ import annotations

from pathlib import Path

import pytest

from observatory.runtime.bench_harness import llama_cpp_server
from observatory.runtime.tinymodel import ensure_default_model
from support.loadgen import loadgen, results, token_server
from support.runtime import model_cache

FIRST_S, GAP_S, TOKENS = 0.05, 0.01, 8


def _run(base: str, output: Path, *extra: str) -> dict:
    run = loadgen("run", "--target", base, "--profile", "openai", "--no-progress", "--output", str(output), *extra)
    assert run.returncode == 0, run.stderr + run.stdout
    return results(output)


def test_scripted_timings_are_measured_and_goodput_counts_the_objectives(tmp_path: Path) -> None:
    # Two requests a second, each streaming 8 tokens over 120 ms: no request ever waits for another.
    with token_server(tmp_path, FIRST_S, GAP_S, TOKENS) as base:
        met = _run(base, tmp_path / "met.json", "--qps", "2", "--duration", "3", "--slo", "ttft=100ms,tpot=20ms")
        missed = _run(base, tmp_path / "missed.json", "--qps", "2", "--duration", "2", "--slo", "ttft=30ms")
    streaming = met["summary"]["streaming"]
    assert met["summary"]["successful"] == streaming["requests"] == 6
    assert streaming["output_tokens"] == 6 * TOKENS and streaming["prompt_tokens"] == 6 * 5
    # The server's own waits are lower bounds; loopback and the event loops add at most a few milliseconds.
    assert FIRST_S * 1000 <= streaming["ttft_ms"]["p50"] <= FIRST_S * 1000 + 15
    assert GAP_S * 1000 * 0.9 <= streaming["inter_token_latency_ms"]["p50"] <= GAP_S * 1000 + 5
    assert GAP_S * 1000 * 0.9 <= streaming["time_per_output_token_ms"]["p50"] <= GAP_S * 1000 + 5
    assert streaming["good_requests"] == 6 and streaming["attainment"] == 1.0
    assert streaming["goodput_requests_per_second"] == pytest.approx(6 / met["summary"]["elapsed_s"])
    assert missed["summary"]["streaming"]["good_requests"] == 0
    for record in met["requests"]:
        assert record["output_tokens"] == TOKENS
        assert FIRST_S * 1000 <= record["ttft_ms"] < record["latency_ms"]
        # After its first token a request streams TOKENS - 1 more, one TPOT apart, then ends at once.
        assert record["latency_ms"] - record["ttft_ms"] == pytest.approx((TOKENS - 1) * record["tpot_ms"], abs=3)


def test_first_token_time_is_corrected_for_coordinated_omission(tmp_path: Path) -> None:
    # One worker sends 20 requests a second to a server that answers one per 120 ms: requests fall behind
    # their due times, and only the corrected first-token time says how long a user waited.
    with token_server(tmp_path, FIRST_S, GAP_S, TOKENS) as base:
        document = _run(base, tmp_path / "co.json", "--qps", "20", "--duration", "1", "--workers", "1")
    streaming = document["summary"]["streaming"]
    assert streaming["ttft_uncorrected_ms"]["p99"] < FIRST_S * 1000 + 30
    # The 20th request is due at 0.95 s and sent after 19 answers of 120 ms: it waits about 1.3 s more.
    assert streaming["ttft_ms"]["p99"] > 1000
    assert streaming["ttft_ms"]["p50"] > 3 * streaming["ttft_uncorrected_ms"]["p50"]


def test_analyze_plots_the_first_token_and_inter_token_distributions(tmp_path: Path) -> None:
    with token_server(tmp_path, FIRST_S, GAP_S, TOKENS) as base:
        _run(base, tmp_path / "run.json", "--qps", "4", "--duration", "1", "--slo", "ttft=100ms")
    analysis = loadgen("analyze", str(tmp_path / "run.json"), "--out", str(tmp_path / "out"))
    assert analysis.returncode == 0, analysis.stderr
    for name in ("ttft_distribution.png", "inter_token_distribution.png"):
        assert (tmp_path / "out" / name).stat().st_size > 10_000
    report = (tmp_path / "out" / "report.md").read_text()
    assert "| inter-token latency |" in report and "within ttft ≤ 100 ms" in report


@pytest.mark.parametrize(
    ("slo", "message"),
    [
        ("ttft=fast", "expected a duration such as 200ms"),
        ("speed=1s", "'speed' is no objective"),
        ("ttft=0ms", "must be a finite duration above 0"),
    ],
)
def test_bad_objectives_are_one_line_and_exit_2(slo: str, message: str) -> None:
    run = loadgen("run", "--target", "http://127.0.0.1:9", "--profile", "openai", "--slo", slo)
    assert run.returncode == 2 and message in run.stderr and run.stderr.count("\n") == 1


def test_objectives_need_the_openai_profile() -> None:
    run = loadgen("run", "--target", "http://127.0.0.1:9", "--profile", "get", "--slo", "ttft=1s")
    assert run.returncode == 2 and "--slo: goodput objectives need --profile openai" in run.stderr


@pytest.mark.slow
def test_llama_cpp_servers_own_openai_api_streams_every_requested_token(tmp_path_factory, tmp_path: Path) -> None:
    model = ensure_default_model(model_cache(tmp_path_factory))
    with llama_cpp_server(model, 2048, 1) as base:
        document = _run(base, tmp_path / "llama.json", "--qps", "4", "--duration", "3", "--workers", "4",
                        "--max-tokens", "24")  # fmt: skip
    summary = document["summary"]
    assert summary["failed"] == 0 and summary["streaming"]["requests"] == 12
    # llama_cpp.server sends no usage chunk: the client counts the text chunks, one per token.
    assert [record["output_tokens"] for record in document["requests"]] == [24] * 12
    assert summary["streaming"]["output_tokens_per_second"] > 0
