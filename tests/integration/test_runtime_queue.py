"""The admission queue of a real shard process: a full line, a client that leaves it, a shutdown while it waits.

Each test holds the shard's only slot with a request whose body is not finished, so that what
waits in line behind it stays there until the test lets it go.
"""

import json
import signal
import subprocess
import time

import pytest

from support.runtime import OpenRequest, get_json, model_cache, running_shard, sample, shard_process, wait_until

INFERENCE = "/api/v1/inference"
SHORT = {"prompt": "Hello", "max_tokens": 4}


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return model_cache(tmp_path_factory)


def _waiting(base: str) -> float:
    return sample(base, "themis_requests_waiting")



@pytest.mark.slow
def test_a_full_line_answers_429_and_turns_ready_false_until_it_drains(cache, tmp_path):
    with running_shard(cache, tmp_path, max_in_flight=1, max_queued=2) as (_, base):
        holder = OpenRequest(base, INFERENCE, SHORT, complete=False)
        wait_until(lambda: sample(base, "themis_requests_in_flight") == 1, what="the slot to be taken")
        assert get_json(f"{base}/ready")[0] == 200  # every slot taken, but there is room in line
        queued = [OpenRequest(base, INFERENCE, SHORT | {"prompt": f"Query {n}"}) for n in range(2)]
        wait_until(lambda: _waiting(base) == 2, what="two requests in line")
        assert get_json(f"{base}/ready")[0] == 503
        status, headers, body = OpenRequest(base, INFERENCE, SHORT).answer()
        assert status == 429 and int(headers["retry-after"]) >= 1
        assert "queue is full" in json.loads(body)["error"]
        assert holder.finish()[0] == 200
        assert [request.answer()[0] for request in queued] == [200, 200]  # the line moved on
        assert get_json(f"{base}/ready")[0] == 200
        assert sample(base, "themis_requests_rejected_total", endpoint="inference") == 1
        assert sample(base, "themis_inference_queue_time_seconds_count") == 3


@pytest.mark.slow
def test_a_client_that_hangs_up_in_line_leaves_it(cache, tmp_path):
    with running_shard(cache, tmp_path, max_in_flight=1, max_queued=4) as (_, base):
        holder = OpenRequest(base, INFERENCE, SHORT, complete=False)
        wait_until(lambda: sample(base, "themis_requests_in_flight") == 1, what="the slot to be taken")
        leaving = OpenRequest(base, INFERENCE, SHORT)
        staying = OpenRequest(base, INFERENCE, SHORT | {"max_tokens": 2})
        wait_until(lambda: _waiting(base) == 2, what="two requests in line")
        leaving.hang_up()
        wait_until(lambda: _waiting(base) == 1, what="the request that hung up to leave the line")
        assert holder.finish()[0] == 200
        status, _, body = staying.answer()
        assert status == 200 and json.loads(body)["completion_tokens"] == 2
        finished = {reason: sample(base, "themis_inference_finished_total", finish_reason=reason)
                    for reason in ("length", "cancelled")}  # fmt: skip
        assert finished == {"length": 2, "cancelled": 1}


@pytest.mark.slow
def test_a_stream_whose_client_hangs_up_stops_generating(cache, tmp_path):
    with running_shard(cache, tmp_path, n_ctx=8192) as (_, base):
        stream = OpenRequest(base, INFERENCE, {"prompt": "Hello", "max_tokens": 4000, "stream": True})
        assert stream.connection.recv(64).startswith(b"HTTP/1.1 200")
        stream.hang_up()
        cancelled = {"finish_reason": "cancelled"}
        wait_until(lambda: sample(base, "themis_inference_finished_total", **cancelled) == 1, what="a cancel")
        assert sample(base, "themis_inference_requests_running") == 0
        assert sample(base, "themis_inference_finished_total", finish_reason="length") == 0
        # Abandoned, it is no success: neither counted nor timed as one.
        assert sample(base, "themis_inference_requests_total", status="success") == 0
        assert sample(base, "themis_inference_latency_seconds_count") == 0


@pytest.mark.slow
def test_shutdown_answers_every_request_in_a_full_line(cache, tmp_path):
    with running_shard(cache, tmp_path, max_in_flight=1, max_queued=3, max_queue_wait_s=120) as (shard, base):
        holder = OpenRequest(base, INFERENCE, SHORT, complete=False)
        wait_until(lambda: sample(base, "themis_requests_in_flight") == 1, what="the slot to be taken")
        queued = [OpenRequest(base, INFERENCE, SHORT) for _ in range(3)]
        wait_until(lambda: _waiting(base) == 3, what="a full line")
        assert sample(base, "themis_request_queue_capacity") == 3  # the configured max_queued
        shard.process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        answers = [request.answer() for request in queued]
        assert time.monotonic() - started < 10  # answered at once, not after their 120 s in line
        assert [status for status, _, _ in answers] == [503] * 3
        assert all(json.loads(body)["error"] == "the shard is shutting down" for _, _, body in answers)
        assert holder.finish()[0] == 200  # the request holding the slot is served to the end
        assert shard.process.wait(timeout=30) == 0
        assert "Traceback" not in shard.log()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("config", "says"),
    [
        ({"vram_budget_bytes": 1000}, "VRAM budget"),
        ({"model": "not-a-model.gguf"}, "the model could not be loaded; see the shard's log"),
    ],
)
def test_a_start_that_fails_says_so_and_exits_non_zero(cache, tmp_path, config, says):
    if "model" in config:  # a file that exists but is no GGUF model
        (tmp_path / config["model"]).write_bytes(b"not a model" * 100)
        config = {"model": str(tmp_path / config["model"])}
    shard, _ = shard_process(cache, tmp_path, **config)
    try:
        code = shard.process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        shard.stop()
        pytest.fail(f"the shard kept running after a failed start:\n{shard.log()}")
    log = shard.log()
    shard.stop()
    assert code == 1, log
    failure = next(line for line in log.splitlines() if "the shard failed to start" in line)
    assert says in failure
