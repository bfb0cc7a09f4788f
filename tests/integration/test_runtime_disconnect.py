"""A client that hangs up while the shard generates stops its generation: native or OpenAI API, streamed or not."""

import re

import pytest

from support.runtime import OpenRequest, get_json, model_cache, running_shard, sample, wait_until

pytestmark = pytest.mark.slow

# The schema's most, as long as a whole answer takes seconds on the tiny model: a hang-up lands mid-generation.
MAX_TOKENS = 4000
CANCELLED = re.compile(r"inference cancelled by its client after (\d+) tokens")


@pytest.fixture(scope="module")
def shard(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("disconnect")
    with running_shard(model_cache(tmp_path_factory), workdir, n_ctx=8192, n_threads=1) as running:
        yield running


def _model(base: str) -> str:
    return get_json(f"{base}/v1/models")[1]["data"][0]["id"]


REQUESTS = {
    "native whole": ("/api/v1/inference", {"prompt": "Hello"}),
    "native streamed": ("/api/v1/inference", {"prompt": "Hello", "stream": True}),
    "chat whole": ("/v1/chat/completions", {"messages": [{"role": "user", "content": "Hello"}]}),
    "chat streamed": ("/v1/chat/completions", {"messages": [{"role": "user", "content": "Hello"}], "stream": True}),
    "completion whole": ("/v1/completions", {"prompt": "Hello"}),
}


@pytest.mark.parametrize("kind", list(REQUESTS))
def test_a_client_that_hangs_up_cancels_its_generation(shard, kind):
    process, base = shard
    path, body = REQUESTS[kind]
    body = body | {"max_tokens": MAX_TOKENS, "temperature": 0.7}
    if path.startswith("/v1/"):
        body["model"] = _model(base)
    finished = {reason: sample(base, "themis_inference_finished_total", finish_reason=reason)
                for reason in ("cancelled", "length")}  # fmt: skip
    successes = sample(base, "themis_inference_requests_total", status="success")
    request = OpenRequest(base, path, body)
    wait_until(lambda: sample(base, "themis_inference_requests_running") == 1, what="the generation to start")
    request.hang_up()
    wait_until(lambda: sample(base, "themis_inference_finished_total", finish_reason="cancelled")
               == finished["cancelled"] + 1, what="the generation to be cancelled")  # fmt: skip
    assert sample(base, "themis_inference_requests_running") == 0
    assert sample(base, "themis_inference_finished_total", finish_reason="length") == finished["length"]
    assert sample(base, "themis_inference_requests_total", status="success") == successes
    tokens = int(CANCELLED.findall(process.log())[-1])
    assert tokens < MAX_TOKENS / 2, f"the generation ran on for {tokens} tokens after its client left"
    assert "Traceback" not in process.log()


@pytest.fixture(scope="module")
def two_slots(tmp_path_factory):
    """A shard working on two requests at once: one generates, the other waits for its turn at the model."""
    workdir = tmp_path_factory.mktemp("disconnect-in-line")
    with running_shard(model_cache(tmp_path_factory), workdir, n_ctx=8192, n_threads=1, max_in_flight=2,
                       max_queued=4) as running:  # fmt: skip
        yield running


WAITING_REQUESTS = REQUESTS | {
    "completion streamed": ("/v1/completions", {"prompt": "Hello", "stream": True}),
}


@pytest.mark.parametrize("kind", list(WAITING_REQUESTS))
def test_a_client_that_hangs_up_before_its_turn_leaves_at_once_and_frees_its_slot(two_slots, kind):
    process, base = two_slots
    finished = {reason: sample(base, "themis_inference_finished_total", finish_reason=reason)
                for reason in ("cancelled", "length")}  # fmt: skip
    long = OpenRequest(base, "/api/v1/inference", {"prompt": "Hello", "max_tokens": MAX_TOKENS, "temperature": 0.7})
    wait_until(lambda: sample(base, "themis_inference_requests_running") == 1, what="the long generation to start")
    path, body = WAITING_REQUESTS[kind]
    if path.startswith("/v1/"):
        body = body | {"model": _model(base)}
    leaving = OpenRequest(base, path, body | {"max_tokens": 8})
    wait_until(lambda: sample(base, "themis_requests_in_flight") == 2, what="the second request to take a slot")
    third = OpenRequest(base, "/api/v1/inference", {"prompt": "Hello", "max_tokens": 2})
    wait_until(lambda: sample(base, "themis_requests_waiting") == 1, what="the third request to wait in line")
    leaving.hang_up()
    wait_until(lambda: sample(base, "themis_requests_waiting") == 0, what="the third request to be admitted")
    # Admitted into the slot the second one left while the long generation still runs.
    assert sample(base, "themis_requests_in_flight") == 2
    assert sample(base, "themis_inference_finished_total", finish_reason="length") == finished["length"]
    assert sample(base, "themis_inference_finished_total", finish_reason="cancelled") == finished["cancelled"] + 1
    long.hang_up()
    status, _, text = third.answer()
    assert status == 200 and '"completion_tokens":2' in text.replace(" ", ""), text
    # The one that left never generated: the long one was cancelled, the third ran to its length.
    assert sample(base, "themis_inference_finished_total", finish_reason="cancelled") == finished["cancelled"] + 2
    assert sample(base, "themis_inference_finished_total", finish_reason="length") == finished["length"] + 1
    assert "Traceback" not in process.log()
