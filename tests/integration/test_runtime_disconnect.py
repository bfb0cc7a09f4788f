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
