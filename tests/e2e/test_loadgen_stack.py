"""Issue 13's done-when, shortened: a mixed-profile load test against the local stack ``observatory up``
runs, its results become plots and a report, and the gate passes the run against itself and flags the
same run with its latencies 20 % higher."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from observatory.config import DEFAULT_CONFIG
from observatory.stack import Stack, plan_stack
from support.loadgen import loadgen, results
from support.runtime import model_cache

pytestmark = pytest.mark.slow

PLOTS = {"latency_histogram.png", "latency_cdf.png", "latency_over_time.png", "latency_by_type.png",
         "qps_over_time.png", "error_rate_over_time.png"}  # fmt: skip


@pytest.fixture(scope="module")
def orchestrator(tmp_path_factory) -> str:
    """``observatory up``'s stack (one shard per domain and the orchestrator), without the exporters."""
    workdir = tmp_path_factory.mktemp("stack")
    cache = str(model_cache(tmp_path_factory))
    plan = plan_stack(DEFAULT_CONFIG.shards, workdir, exporters=False, shard_config=lambda _d: {"cache_dir": cache})
    stack = Stack(plan.services, workdir)
    stack.start()
    try:
        yield plan.services[-1].url
    finally:
        stack.stop()


def _with_latency_scaled(document: dict, factor: float) -> dict:
    figures = {name: figure | {"value": figure["value"] * factor} if figure["unit"] == "ms" else figure
               for name, figure in document["figures"].items()}  # fmt: skip
    return document | {"figures": figures}


def test_a_mixed_run_against_the_stack_is_analysed_and_gated(orchestrator: str, tmp_path: Path) -> None:
    output = tmp_path / "mixed.json"
    run = loadgen("run", "--target", orchestrator, "--profile", "mixed", "--qps", "4", "--duration", "12",
                  "--workers", "32", "--no-progress", "--output", str(output), timeout=240)  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    document = results(output)
    summary = document["summary"]
    assert summary["sent"] == summary["total_requests"] == 48
    assert summary["error_rate"] == 0.0, summary
    # Every request type of the orchestrator's mix reached it and was answered.
    assert set(summary["by_type"]) == {"inference", "rag", "reasoning", "task"}
    assert {record["type"] for record in document["requests"]} == set(summary["by_type"])

    analysis = tmp_path / "analysis"
    written = loadgen("analyze", str(output), "--out", str(analysis))
    assert written.returncode == 0, written.stderr
    assert {path.name for path in analysis.glob("*.png")} >= PLOTS
    assert all((analysis / name).stat().st_size > 1000 for name in PLOTS)
    assert "| p99 |" in (analysis / "report.md").read_text()

    identical = loadgen("compare", "--baseline", str(output), "--current", str(output), "--tolerance", "10%")
    assert identical.returncode == 0, identical.stdout
    slower = tmp_path / "slower.json"
    slower.write_text(json.dumps(_with_latency_scaled(document, 1.2)))
    flagged = loadgen("compare", "--baseline", str(output), "--current", str(slower), "--tolerance", "10%")
    assert flagged.returncode == 1
    assert "| latency_p99_ms (ms) |" in flagged.stdout and "REGRESSION" in flagged.stdout
