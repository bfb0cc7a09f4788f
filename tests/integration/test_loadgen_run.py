"""``observatory-loadgen run`` against real servers: coordinated omission, seed 003's task client, targets."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from support.loadgen import loadgen, results, stall_server
from support.runtime import model_cache, running_shard

STALL_S = 1.0


def test_corrected_latency_shows_a_stall_that_uncorrected_hides(tmp_path: Path) -> None:
    # 250 req/s for 4 s through 2 workers; the server stalls for 1 s once, a second in.
    # Only the 2 requests in flight see the stall from their send (under 1 % of 1000): a closed-loop
    # view hides it. The ~250 requests due during the stall wait for a worker and are sent late.
    output = tmp_path / "co.json"
    with stall_server(tmp_path, stall_at=250, stall_s=STALL_S) as base:
        run = loadgen("run", "--target", f"{base}/", "--profile", "get", "--qps", "250", "--duration", "4",
                      "--workers", "2", "--no-progress", "--output", str(output))  # fmt: skip
    assert run.returncode == 0, run.stderr
    summary = results(output)["summary"]
    assert summary["sent"] == 1000 and summary["failed"] == 0
    assert summary["latency_ms"]["p99"] >= 0.8 * STALL_S * 1000
    assert summary["uncorrected_latency_ms"]["p99"] < 0.3 * STALL_S * 1000
    assert summary["uncorrected_latency_ms"]["max"] >= 0.9 * STALL_S * 1000  # the stall is measured, not lost
    assert summary["sent_late"] >= 0.1 * 250
    assert "p99:" in run.stdout and "Sent late:" in run.stdout


def test_enough_workers_send_everything_on_time_and_both_views_see_the_stall(tmp_path: Path) -> None:
    output = tmp_path / "wide.json"
    with stall_server(tmp_path, stall_at=100, stall_s=STALL_S) as base:
        run = loadgen("run", "--target", f"{base}/", "--profile", "get", "--qps", "100", "--duration", "3",
                      "--workers", "200", "--late-after-ms", "200", "--no-progress",
                      "--output", str(output))  # fmt: skip
    assert run.returncode == 0, run.stderr
    summary = results(output)["summary"]
    assert summary["sent_late"] == 0
    assert summary["uncorrected_latency_ms"]["p99"] >= 0.8 * STALL_S * 1000


def test_requests_still_queued_when_the_drain_ends_are_unsent_not_lost(tmp_path: Path) -> None:
    # One worker; the 40th of 50 requests (due at 0.78 s) stalls the server for 1.5 s, and late requests
    # may be sent only until 0.3 s after the last due time: the ones queued behind the stall never go.
    output = tmp_path / "unsent.json"
    with stall_server(tmp_path, stall_at=40, stall_s=1.5) as base:
        run = loadgen("run", "--target", f"{base}/", "--profile", "get", "--qps", "50", "--duration", "1",
                      "--workers", "1", "--drain", "0.3", "--no-progress", "--output", str(output))  # fmt: skip
    assert run.returncode == 0, run.stderr
    summary = results(output)["summary"]
    assert summary["unsent"] >= 5
    assert summary["total_requests"] == summary["sent"] + summary["unsent"] == 50
    assert "Unsent:" in run.stdout


def test_a_request_past_its_timeout_fails_as_a_timeout_and_later_ones_succeed(tmp_path: Path) -> None:
    output = tmp_path / "timeout.json"
    with stall_server(tmp_path, stall_at=1, stall_s=1.5) as base:
        run = loadgen("run", "--target", f"{base}/", "--profile", "get", "--qps", "10", "--duration", "3",
                      "--timeout", "0.5", "--no-progress", "--output", str(output))  # fmt: skip
    assert run.returncode == 0, run.stderr
    requests = results(output)["requests"]
    assert requests[0]["status"] == 0 and requests[0]["error"] == "timeout"
    assert any(request["status"] == 200 for request in requests)


def test_task_bursts_poll_to_completion_and_count_failed_tasks(tmp_path: Path) -> None:
    output = tmp_path / "tasks.json"
    with stall_server(tmp_path, stall_at=0, stall_s=0, task_s=0.2) as base:
        run = loadgen("run", "--target", base, "--pattern", "bursts", "--requests", "20", "--batch", "5",
                      "--interval", "0.1,0.2", "--poll-interval", "0.05", "--error-rate-under", "5%",
                      "--no-progress", "--output", str(output))  # fmt: skip
    document = results(output)
    summary = document["summary"]
    assert summary["sent"] == 20
    assert summary["failed"] == 2  # every tenth task fails on this server
    assert summary["latency_ms"]["p50"] >= 200  # a task is done 0.2 s after it was submitted
    due = sorted({request["scheduled_s"] for request in document["requests"]})
    assert len(due) == 4 and all(0.1 <= b - a <= 0.2 + 1e-6 for a, b in itertools.pairwise(due))
    assert run.returncode == 1  # 10 % errors miss the 5 % target
    assert "✗ error rate: 10.00%" in run.stdout


def test_a_shard_gets_the_shard_mix_with_documents_to_search_and_adapters(tmp_path: Path, tmp_path_factory) -> None:
    output = tmp_path / "shard.json"
    with running_shard(model_cache(tmp_path_factory), tmp_path) as (_, base):
        run = loadgen("run", "--target", base, "--profile", "mixed", "--qps", "20", "--duration", "2",
                      "--no-progress", "--output", str(output), "--error-rate-under", "1")  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    document = results(output)
    assert document["config"]["target_kind"] == "shard"
    kinds = {request["type"] for request in document["requests"]}
    assert kinds == {"search", "inference", "lora_inference"}
    assert document["summary"]["failed"] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "foo"], "--target: must be an http:// or https:// URL"),
        (["--target", "http://127.0.0.1:1", "--qps", "0"], "--qps: must be a finite number above 0"),
        (["--target", "http://127.0.0.1:1", "--burst", "--pattern", "bursts"], "--burst and --pattern: choose one"),
        (["--target", "http://127.0.0.1:1", "--batch-range", "5,2"], "needs 0 <= LOW <= HIGH"),
        (["--target", "http://127.0.0.1:1", "--profile", "fast"], "invalid choice: 'fast'"),
        (["--target", "http://127.0.0.1:1", "--error-rate-under", "120%"], "a percentage from 0 to 100"),
    ],
)
def test_bad_flags_are_one_line(args: list[str], message: str) -> None:
    run = loadgen("run", *args, "--no-progress")
    assert run.returncode == 2
    assert message in run.stderr and run.stderr.count("\n") == 1


def test_a_dead_target_is_one_line_and_exit_1(tmp_path: Path) -> None:
    run = loadgen("run", "--target", "http://127.0.0.1:1", "--duration", "1", "--output", str(tmp_path / "x.json"))
    assert run.returncode == 1
    assert run.stderr.startswith("observatory-loadgen run: --target http://127.0.0.1:1: cannot read")
    assert run.stderr.count("\n") == 1
