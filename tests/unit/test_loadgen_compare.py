"""The regression gate: direction-aware deltas on load-test results and on ``make bench`` results."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from observatory.loadgen.compare import compare, is_relative
from observatory.loadgen.figures import HIGHER, LOWER, UNKNOWN, Figure, direction, read_figures

LOAD_TEST = {
    "figures": {
        "achieved_qps": {"value": 250.0, "unit": "req/s", "better": HIGHER},
        "latency_p99_ms": {"value": 12.5, "unit": "ms", "better": LOWER},
        "error_rate": {"value": 0.0, "unit": "ratio", "better": LOWER},
    }
}
# The shape of runtime/bench.py's output: no figures block, directions read from the names.
RUNTIME_BENCH = {
    "machine": {"cpus": 2},
    "search": {"service_queries_per_second": 600.0, "in_process_queries_per_second": 5000.0,
               "service_to_in_process_ratio": 0.12, "vectors": 2000},
    "metrics_cost": {"metrics_on_requests_per_second": {"median": 900.0, "q1": 850.0, "max": 990.0},
                     "all_rounds": {"on": [1.0, 2.0]}},
    "host_vs_node_exporter_ratio": {"median_seconds": 0.8},
}  # fmt: skip


def _scaled(document: dict, names: set[str], factor: float) -> dict:
    figures = {n: f | {"value": f["value"] * factor} if n in names else f for n, f in document["figures"].items()}
    return {"figures": figures}


def _gate(baseline: dict, current: dict, tolerance: float = 0.10) -> dict[str, str]:
    return {d.name: d.verdict for d in compare(read_figures(baseline), read_figures(current), tolerance)}


def test_an_identical_run_passes() -> None:
    assert set(_gate(LOAD_TEST, LOAD_TEST).values()) == {"ok"}


def test_a_twenty_percent_latency_regression_is_flagged() -> None:
    verdicts = _gate(LOAD_TEST, _scaled(LOAD_TEST, {"latency_p99_ms"}, 1.2))
    assert verdicts == {"achieved_qps": "ok", "latency_p99_ms": "regression", "error_rate": "ok"}
    assert _gate(LOAD_TEST, _scaled(LOAD_TEST, {"latency_p99_ms"}, 1.05))["latency_p99_ms"] == "ok"


def test_direction_decides_what_a_change_means() -> None:
    assert _gate(LOAD_TEST, _scaled(LOAD_TEST, {"achieved_qps"}, 0.8))["achieved_qps"] == "regression"
    assert _gate(LOAD_TEST, _scaled(LOAD_TEST, {"achieved_qps"}, 1.2))["achieved_qps"] == "improved"
    assert _gate(LOAD_TEST, _scaled(LOAD_TEST, {"latency_p99_ms"}, 0.8))["latency_p99_ms"] == "improved"


def test_from_a_zero_baseline_the_change_is_absolute() -> None:
    errors = json.loads(json.dumps(LOAD_TEST))
    errors["figures"]["error_rate"]["value"] = 0.05
    assert _gate(LOAD_TEST, errors)["error_rate"] == "ok"  # 5 points of errors is within 10 %
    errors["figures"]["error_rate"]["value"] = 0.2
    assert _gate(LOAD_TEST, errors)["error_rate"] == "regression"


def test_bench_results_are_read_by_name_with_spreads_as_medians() -> None:
    figures = read_figures(RUNTIME_BENCH)
    assert figures["search.service_queries_per_second"] == Figure(600.0, "", HIGHER)
    assert figures["search.service_to_in_process_ratio"].better == HIGHER
    assert figures["metrics_cost.metrics_on_requests_per_second"].value == 900.0
    assert figures["host_vs_node_exporter_ratio.median_seconds"].better == LOWER
    assert figures["search.vectors"].better == UNKNOWN
    assert not any(name.startswith(("machine", "metrics_cost.all_rounds")) for name in figures)
    slower = json.loads(json.dumps(RUNTIME_BENCH))
    slower["search"]["service_queries_per_second"] = 480.0
    slower["search"]["vectors"] = 9999  # unknown direction: shown, never gated
    verdicts = _gate(RUNTIME_BENCH, slower)
    assert verdicts["search.service_queries_per_second"] == "regression"
    assert verdicts["search.vectors"] == "ungated"
    assert [v for v in verdicts.values() if v == "regression"] == ["regression"]


def test_a_figure_gone_from_the_current_result_fails_and_a_new_one_does_not() -> None:
    current = {"figures": dict(LOAD_TEST["figures"])}
    del current["figures"]["error_rate"]
    current["figures"]["new_figure_ms"] = {"value": 1.0, "better": LOWER}
    deltas = {d.name: d for d in compare(read_figures(LOAD_TEST), read_figures(current), 0.1)}
    assert deltas["error_rate"].failed and deltas["error_rate"].verdict == "missing"
    assert not deltas["new_figure_ms"].failed


@pytest.mark.parametrize(
    ("name", "better"),
    [("tokens_per_second", HIGHER), ("p99_seconds", LOWER), ("recall_at_10", HIGHER), ("loadgen_to_wrk_ratio", HIGHER),
     ("exposition_bytes", LOWER), ("rounds", UNKNOWN)],
)  # fmt: skip
def test_direction_from_names(name: str, better: str) -> None:
    assert direction(name) == better


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("observatory-loadgen")
    return subprocess.run([str(script), "compare", *args], capture_output=True, text=True, timeout=60)


def test_the_command_exits_1_on_a_regression_and_0_on_an_identical_run(tmp_path: Path) -> None:
    baseline, current = tmp_path / "a.json", tmp_path / "b.json"
    baseline.write_text(json.dumps(LOAD_TEST))
    current.write_text(json.dumps(_scaled(LOAD_TEST, {"latency_p99_ms"}, 1.2)))
    failed = _cli("--baseline", str(baseline), "--current", str(current), "--tolerance", "10%")
    assert failed.returncode == 1
    assert "| latency_p99_ms (ms) | 12.5 | 15 | +20.0% | lower | REGRESSION |" in failed.stdout
    passed = _cli("--baseline", str(baseline), "--current", str(baseline), "--tolerance", "10%")
    assert passed.returncode == 0 and "no regression beyond 10% in 3 figures" in passed.stdout


@pytest.mark.parametrize(
    ("write", "message"),
    [(None, "cannot read"), ("{not json", "is not JSON"), ("[1, 2]", "holds no results object"),
     ('{"figures": {"x": {"unit": "ms"}}}', "lacks a numeric value"), ('{"name": "x"}', "holds no figures")],
)  # fmt: skip
def test_unreadable_results_are_one_line(tmp_path: Path, write: str | None, message: str) -> None:
    path = tmp_path / "r.json"
    if write is not None:
        path.write_text(write)
    result = _cli("--baseline", str(path), "--current", str(path))
    assert result.returncode == 1 and message in result.stderr and result.stderr.count("\n") == 1


def test_a_bad_tolerance_is_one_line(tmp_path: Path) -> None:
    result = _cli("--baseline", "a", "--current", "b", "--tolerance", "ten")
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "--tolerance" in result.stderr


BENCH_SUMMARY = {
    "figures": {
        "loadgen-inference.shard.c8.requests_per_second": {"value": 40.0, "unit": "requests/s", "better": HIGHER},
        "loadgen-inference.orchestrator.c8.requests_to_direct_ratio": {"value": 0.9, "unit": "ratio",
                                                                       "better": HIGHER},
        "orchestrator.dag_10_steps.4_shards.speedup": {"value": 3.0, "unit": "", "better": HIGHER},
    }
}  # fmt: skip


def test_absolute_figures_may_take_a_wider_tolerance_than_ratios_of_one_run() -> None:
    # The whole machine 30 % slower: every absolute rate falls, the side-by-side ratios hold.
    noisy = _scaled(BENCH_SUMMARY, {"loadgen-inference.shard.c8.requests_per_second"}, 0.7)
    deltas = compare(read_figures(BENCH_SUMMARY), read_figures(noisy), 0.10, absolute_tolerance=0.5)
    assert {d.name: d.verdict for d in deltas} == dict.fromkeys(BENCH_SUMMARY["figures"], "ok")
    # The same 30 % fall is a regression without the wider tolerance...
    strict = compare(read_figures(BENCH_SUMMARY), read_figures(noisy), 0.10)
    assert [d.name for d in strict if d.failed] == ["loadgen-inference.shard.c8.requests_per_second"]
    # ...and a ratio or a speedup falling 20 % fails even with it.
    slower = _scaled(BENCH_SUMMARY, {"loadgen-inference.orchestrator.c8.requests_to_direct_ratio",
                                     "orchestrator.dag_10_steps.4_shards.speedup"}, 0.8)  # fmt: skip
    failed = [d.name for d in compare(read_figures(BENCH_SUMMARY), read_figures(slower), 0.10, 0.5) if d.failed]
    assert failed == ["loadgen-inference.orchestrator.c8.requests_to_direct_ratio",
                      "orchestrator.dag_10_steps.4_shards.speedup"]  # fmt: skip


def test_the_command_names_both_tolerances(tmp_path: Path) -> None:
    baseline = tmp_path / "a.json"
    baseline.write_text(json.dumps(BENCH_SUMMARY))
    result = _cli("--baseline", str(baseline), "--current", str(baseline), "--absolute-tolerance", "50%")
    assert result.returncode == 0
    assert "no regression beyond 10% (absolute figures 50%) in 3 figures" in result.stdout


def test_absolute_figures_can_be_shown_without_gating_while_a_missing_one_still_fails(tmp_path: Path) -> None:
    baseline, current = tmp_path / "a.json", tmp_path / "b.json"
    baseline.write_text(json.dumps(BENCH_SUMMARY))
    current.write_text(json.dumps(_scaled(BENCH_SUMMARY, {"loadgen-inference.shard.c8.requests_per_second"}, 0.1)))
    shown = _cli("--baseline", str(baseline), "--current", str(current), "--absolute-tolerance", "off")
    assert shown.returncode == 0 and "(absolute figures shown, not gated)" in shown.stdout
    assert "| -90.0% | higher | ok |" in shown.stdout
    gone = json.loads(current.read_text())
    del gone["figures"]["loadgen-inference.shard.c8.requests_per_second"]
    current.write_text(json.dumps(gone))
    assert _cli("--baseline", str(baseline), "--current", str(current), "--absolute-tolerance", "off").returncode == 1


@pytest.mark.parametrize("name, relative", [
    ("loadgen-vectors.flat.10000.service_to_in_process_ratio", True),
    ("loadgen-vectors.ivf.1000000.recall_at_10", True),
    ("orchestrator.dag_10_steps.4_shards.speedup", True),
    # A latency whose name holds the letters of "ratio" inside another word is absolute.
    ("runtime.probes_under_saturation.probe_seconds./health.p99", False),
    ("loadgen-inference.shard.c8.requests_per_second", False),
])  # fmt: skip
def test_a_figure_is_relative_when_a_word_of_its_name_says_so(name: str, relative: bool) -> None:
    assert is_relative(name, Figure(1.0, "", LOWER)) is relative
