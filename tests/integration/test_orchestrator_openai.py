"""The OpenAI-compatible API through a real orchestrator and two real shards, driven by the ``openai`` client.

legal's primary is its own shard; finance's primary is also legal's backup; medical's shard has room
for its model and for no adapter. The failover test stops legal's primary, so it runs last.
"""

import re
import time

import httpx
import numpy as np
import openai
import pytest

from observatory.runtime.tinymodel import ensure_default_model
from support.durable import OrchestratorReplica
from support.runtime import OpenRequest, model_cache, request_json, running_shard, sample, wait_until

pytestmark = pytest.mark.slow

CHAT = [{"role": "user", "content": "Analyze this contract"}]
MAX_TOKENS = 4000  # the schema's most: seconds of generation on the tiny model
CANCELLED = re.compile(r"inference cancelled by its client after (\d+) tokens")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    cache, workdir = model_cache(tmp_path_factory), tmp_path_factory.mktemp("orchestrator-openai")
    config = {"n_ctx": 8192, "n_threads": 1}
    no_room = {"vram_budget_bytes": ensure_default_model(cache).stat().st_size + 1024, "n_threads": 1}
    with (
        running_shard(cache, workdir, **config) as legal,
        running_shard(cache, workdir, **config) as finance,
        running_shard(cache, workdir, **no_room) as medical,
    ):
        domains = {"legal": {"primary": legal[1], "backups": [finance[1]]}, "finance": {"primary": finance[1]},
                   "medical": {"primary": medical[1]}}  # fmt: skip
        orchestrator = OrchestratorReplica(f"sqlite:///{workdir / 'store.db'}", {}, workdir,
                                           settings={"domains": domains})  # fmt: skip
        orchestrator.start()
        try:
            yield {"orchestrator": orchestrator.url, "legal": legal, "finance": finance, "medical": medical}
        finally:
            orchestrator.stop()


@pytest.fixture(scope="module")
def client(cluster):
    with openai.OpenAI(base_url=f"{cluster['orchestrator']}/v1", api_key="unused", max_retries=0) as client:
        yield client


@pytest.fixture(scope="module")
def direct(cluster):
    """A client of legal's primary shard itself."""
    with openai.OpenAI(base_url=f"{cluster['legal'][1]}/v1", api_key="unused", max_retries=0) as client:
        yield client


def test_models_are_the_domains_and_their_adapters(client, direct):
    shard_models = [card.id for card in direct.models.list().data]
    adapters = shard_models[1:]
    listed = [card.id for card in client.models.list().data]
    assert listed == [f"{domain}{suffix}" for domain in ("finance", "legal", "medical")
                      for suffix in ("", *(f"/{a}" for a in adapters))]  # fmt: skip
    assert client.models.list().data[0].root == shard_models[0]


@pytest.mark.parametrize("model", ["legal", "legal/legal-lora"])
def test_a_completion_through_the_orchestrator_is_the_shards_own(client, direct, model):
    shard_model = direct.models.list().data[0].id if model == "legal" else "legal-lora"
    args = {"messages": CHAT, "max_tokens": 24, "temperature": 0.8, "seed": 5}
    routed = client.chat.completions.create(model=model, **args)
    own = direct.chat.completions.create(model=shard_model, **args)
    assert routed.choices[0].message.content == own.choices[0].message.content
    assert routed.usage.model_dump() == own.usage.model_dump() and routed.usage.completion_tokens == 24
    assert own.model == shard_model and routed.model == model  # the name the client asked for, as OpenAI echoes it
    chunks = list(client.chat.completions.create(model=model, **args, stream=True,
                                                 stream_options={"include_usage": True}))  # fmt: skip
    assert {chunk.model for chunk in chunks} == {model}
    assert chunks[-1].choices == [] and chunks[-1].usage.model_dump() == own.usage.model_dump()
    assert "".join(c.choices[0].delta.content or "" for c in chunks[:-1]) == own.choices[0].message.content
    text = client.completions.create(model=model, prompt="the contract", max_tokens=8, seed=1)
    assert text.choices[0].text == direct.completions.create(model=shard_model, prompt="the contract",
                                                             max_tokens=8, seed=1).choices[0].text  # fmt: skip


def test_embeddings_through_the_orchestrator_equal_the_shards_native_vectors(client, cluster):
    texts = ["the contract clause", "the patient data"]
    routed = client.embeddings.create(model="legal", input=texts)
    assert routed.model == "legal"
    status, native = request_json("POST", f"{cluster['legal'][1]}/api/v1/embeddings", {"texts": texts})
    assert status == 200
    np.testing.assert_allclose([item.embedding for item in routed.data], native["vectors"], atol=1e-6)


def _refused(call, status: int, param: str | None, code: str | None = None) -> None:
    with pytest.raises(openai.APIStatusError) as refused:
        call()
    assert refused.value.status_code == status, refused.value.body
    error = refused.value.response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert (error["param"], error["code"]) == (param, code), error


def test_refusals_through_the_orchestrator_are_in_openais_envelope(client):
    chat = client.chat.completions.create
    _refused(lambda: chat(model="no-such-domain", messages=CHAT), 404, "model", "model_not_found")
    _refused(lambda: chat(model="legal/no-such-adapter", messages=CHAT), 404, "model", "model_not_found")
    _refused(lambda: chat(model="legal", messages=CHAT, n=2), 400, "n")
    # Refused by the shard (its prompt limit), relayed naming the request's own field.
    _refused(lambda: chat(model="legal", messages=[{"role": "user", "content": "x" * 9000}]), 400, "messages")
    _refused(lambda: client.embeddings.create(model="nowhere", input="x"), 404, "model", "model_not_found")


def test_an_adapter_without_room_on_its_domains_shard_is_served_by_a_shard_with_room(client, cluster):
    medical = cluster["medical"][1]
    refused = sample(medical, "themis_inference_finished_total", finish_reason="error")
    answer = client.chat.completions.create(model="medical/legal-lora", messages=CHAT, max_tokens=2)
    assert answer.model == "medical/legal-lora" and answer.usage.completion_tokens == 2
    # medical's shard refused it (507: no room under its VRAM budget), and the failover went on.
    assert sample(medical, "themis_inference_finished_total", finish_reason="error") == refused + 1
    assert "medical" not in httpx.get(f"{cluster['orchestrator']}/health").json()["shards_down"]


def test_a_stream_passes_through_chunk_by_chunk(cluster):
    body = {"model": "legal", "messages": CHAT, "max_tokens": MAX_TOKENS, "stream": True}
    started = time.perf_counter()
    with httpx.stream("POST", f"{cluster['orchestrator']}/v1/chat/completions", json=body, timeout=120) as stream:
        lines = (line for line in stream.iter_lines() if line.startswith("data: "))
        first = next(lines)
        first_at = time.perf_counter() - started
        rest = list(lines)
    whole_s = time.perf_counter() - started
    assert '"content"' in first and rest[-1] == "data: [DONE]"
    # The first token left the shard long before the last: through the orchestrator it arrives as early.
    assert first_at < whole_s / 4, (first_at, whole_s)


REQUESTS = {
    "native whole": ("/api/v1/inference", {"prompt": "Hello", "domain": "legal"}),
    "chat whole": ("/v1/chat/completions", {"model": "legal", "messages": CHAT}),
    "chat streamed": ("/v1/chat/completions", {"model": "legal", "messages": CHAT, "stream": True}),
    "completion streamed": ("/v1/completions", {"model": "legal", "prompt": "Hello", "stream": True}),
}


@pytest.mark.parametrize("kind", list(REQUESTS))
def test_a_client_that_hangs_up_on_the_orchestrator_cancels_the_shards_generation(cluster, kind):
    process, shard = cluster["legal"]
    path, body = REQUESTS[kind]
    cancelled = sample(shard, "themis_inference_finished_total", finish_reason="cancelled")
    request = OpenRequest(cluster["orchestrator"], path, body | {"max_tokens": MAX_TOKENS})
    wait_until(lambda: sample(shard, "themis_inference_requests_running") == 1, what="the generation to start")
    request.hang_up()
    wait_until(lambda: sample(shard, "themis_inference_finished_total", finish_reason="cancelled") == cancelled + 1,
               what="the generation to be cancelled")  # fmt: skip
    assert sample(shard, "themis_inference_requests_running") == 0
    tokens = int(CANCELLED.findall(process.log())[-1])
    assert tokens < MAX_TOKENS / 2, f"the generation ran on for {tokens} tokens after its client left"


def test_a_domain_whose_primary_is_down_is_answered_by_its_backup(client, cluster):
    cluster["legal"][0].stop()
    finance = cluster["finance"][1]
    served = sample(finance, "themis_inference_requests_total", status="success")
    answer = client.chat.completions.create(model="legal", messages=CHAT, max_tokens=4)
    assert answer.usage.completion_tokens == 4 and answer.model == "legal"
    streamed = list(client.chat.completions.create(model="legal", messages=CHAT, max_tokens=4, stream=True))
    assert {chunk.model for chunk in streamed} == {"legal"}
    # Both answered by finance's shard, legal's backup.
    assert sample(finance, "themis_inference_requests_total", status="success") == served + 2
    assert streamed[-1].choices[0].finish_reason == "length"
    assert "legal" in [card.id for card in client.models.list().data]  # its backup still serves it
