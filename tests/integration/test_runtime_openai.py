"""The OpenAI-compatible API of a real shard process, driven by the official ``openai`` client."""

import base64
import itertools
import json

import httpx
import numpy as np
import openai
import pytest

from observatory.runtime.tinymodel import TinyModelSpec, ensure_default_model, write_model
from support.runtime import (
    OpenRequest,
    model_cache,
    request_json,
    running_shard,
    sample,
    settings,
    started_client,
    wait_until,
)

CHAT = [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "Analyze this contract"}]


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return model_cache(tmp_path_factory)


@pytest.fixture(scope="module")
def base(cache, tmp_path_factory):
    with running_shard(cache, tmp_path_factory.mktemp("openai"), n_ctx=4096) as (_, url):
        yield url


@pytest.fixture(scope="module")
def client(base):
    with openai.OpenAI(base_url=f"{base}/v1", api_key="unused", max_retries=0) as client:
        yield client


@pytest.fixture(scope="module")
def model(client):
    return client.models.list().data[0].id


def _refused(call, status: int, param: str | None, code: str | None = None) -> dict:
    with pytest.raises(openai.APIStatusError) as refused:
        call()
    assert refused.value.status_code == status, refused.value.body
    error = refused.value.response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"]
    assert (error["param"], error["code"]) == (param, code), error
    return error


def test_models_are_the_shard_model_and_its_adapters(client, base, model):
    listed = client.models.list().data
    status, lora = request_json("GET", f"{base}/api/v1/lora")
    assert status == 200
    assert [card.id for card in listed] == [model, *sorted(lora["available"])]
    assert model.startswith("themis-tiny") and all(card.object == "model" for card in listed)
    assert {getattr(card, "parent", None) for card in listed[1:]} == {model}


def test_a_whole_chat_answer_carries_its_usage(client, model):
    answer = client.chat.completions.create(model=model, messages=CHAT, max_tokens=12)
    assert answer.object == "chat.completion" and answer.id.startswith("chatcmpl-") and answer.created > 0
    assert answer.model == model
    (choice,) = answer.choices
    assert choice.message.role == "assistant" and choice.message.content
    assert choice.finish_reason == "length"  # the tiny model never ends by itself
    assert answer.usage.completion_tokens == 12
    assert answer.usage.total_tokens == answer.usage.prompt_tokens + 12
    # The template wraps the messages: more tokens than their words alone.
    plain = client.completions.create(model=model, prompt="Answer briefly. Analyze this contract", max_tokens=1)
    assert answer.usage.prompt_tokens > plain.usage.prompt_tokens


def test_max_completion_tokens_bounds_the_answer_over_max_tokens(client, model):
    answer = client.chat.completions.create(model=model, messages=CHAT, max_tokens=30, max_completion_tokens=5)
    assert answer.usage.completion_tokens == 5
    default = client.completions.create(model=model, prompt="the contract")
    assert default.usage.completion_tokens == 16  # OpenAI's default for a text completion
    # A chat without a limit answers until it ends, or until the context is full: the tiny model never ends.
    unbounded = client.chat.completions.create(model=model, messages=CHAT)
    assert unbounded.usage.total_tokens == 4096 and unbounded.choices[0].finish_reason == "length"  # n_ctx


@pytest.mark.parametrize("endpoint", ["chat", "completions"])
def test_a_streamed_answer_is_the_whole_answer_for_the_same_seed(client, model, endpoint):
    if endpoint == "chat":
        create, args = client.chat.completions.create, {"messages": CHAT}
    else:
        create, args = client.completions.create, {"prompt": "Analyze this contract clause"}
    args |= {"model": model, "max_tokens": 40, "temperature": 0.9, "seed": 11}
    whole = create(**args)
    chunks = list(create(**args, stream=True, stream_options={"include_usage": True}))
    *text_chunks, last = chunks
    assert last.choices == [] and last.usage.model_dump() == whole.usage.model_dump()
    assert all(chunk.usage is None for chunk in text_chunks) and len(text_chunks) > 2
    if endpoint == "chat":
        streamed = "".join(chunk.choices[0].delta.content or "" for chunk in text_chunks)
        assert (text_chunks[0].choices[0].delta.role, streamed) == ("assistant", whole.choices[0].message.content)
        assert {chunk.object for chunk in chunks} == {"chat.completion.chunk"}
    else:
        streamed = "".join(chunk.choices[0].text for chunk in text_chunks)
        assert streamed == whole.choices[0].text
    assert [chunk.choices[0].finish_reason for chunk in text_chunks][-1] == "length"
    assert {chunk.id for chunk in chunks} == {chunks[0].id}
    other_seed = create(**args | {"seed": 12})
    assert _text(other_seed) != _text(whole)  # the seed is honoured, not ignored


def _text(answer) -> str:
    choice = answer.choices[0]
    return choice.message.content if hasattr(choice, "message") else choice.text


def test_a_stream_ends_with_done_and_its_chunks_carry_usage_null(base, model):
    body = {"model": model, "prompt": "the contract", "max_tokens": 6, "stream": True,
            "stream_options": {"include_usage": True}}  # fmt: skip
    response = httpx.post(f"{base}/v1/completions", json=body, timeout=30)
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [block.removeprefix("data: ") for block in response.text.strip().split("\n\n")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(event) for event in events[:-1]]
    assert all("usage" in chunk and chunk["usage"] is None for chunk in chunks[:-1])
    assert chunks[-1]["usage"]["completion_tokens"] == 6
    plain = httpx.post(f"{base}/v1/completions", json=body | {"stream_options": None}, timeout=30).text
    assert '"usage"' not in plain  # without include_usage no chunk mentions usage


def test_a_stop_string_ends_the_text_before_it(client, model):
    args = {"model": model, "prompt": "Analyze this contract clause", "max_tokens": 40, "temperature": 0}
    whole = client.completions.create(**args).choices[0].text
    stop = whole[len(whole) // 2 : len(whole) // 2 + 3]
    stopped = client.completions.create(**args, stop=[stop, "never appears"])
    assert stopped.choices[0].text == whole[: whole.index(stop)]
    assert stopped.choices[0].finish_reason == "stop"
    streamed = client.completions.create(**args, stop=stop, stream=True)
    assert "".join(chunk.choices[0].text for chunk in streamed) == whole[: whole.index(stop)]


def test_an_adapter_is_a_model_of_its_own(client, base, model):
    args = {"prompt": "Analyze this contract clause", "max_tokens": 16, "temperature": 0}
    plain = client.completions.create(model=model, **args).choices[0].text
    adapted = client.completions.create(model="legal-lora", **args)
    assert adapted.model == "legal-lora" and adapted.choices[0].text != plain
    native = request_json("POST", f"{base}/api/v1/inference", args | {"adapters": [{"name": "legal-lora"}]})[1]
    assert native["text"] == adapted.choices[0].text and native["adapters_used"] == ["legal-lora"]


def test_embeddings_equal_the_native_endpoints_vectors(client, base, model):
    texts = ["the contract clause", "the patient data"]
    floats = client.embeddings.create(model=model, input=texts, encoding_format="float")
    status, native = request_json("POST", f"{base}/api/v1/embeddings", {"texts": texts})
    assert status == 200
    np.testing.assert_allclose([item.embedding for item in floats.data], native["vectors"], atol=1e-6)
    assert [item.index for item in floats.data] == [0, 1] and floats.usage.prompt_tokens > 0
    # The client's default encoding is base64 of little-endian float32.
    encoded = httpx.post(f"{base}/v1/embeddings", json={"model": model, "input": texts[0],
                                                        "encoding_format": "base64"}).json()  # fmt: skip
    vector = np.frombuffer(base64.b64decode(encoded["data"][0]["embedding"]), dtype="<f4")
    np.testing.assert_allclose(vector, native["vectors"][0], atol=1e-6)
    by_client = client.embeddings.create(model=model, input=texts[1]).data[0].embedding  # base64 by default
    np.testing.assert_allclose(by_client, native["vectors"][1], atol=1e-6)


def test_every_refusal_is_in_openais_envelope(client, model):
    chat = client.chat.completions.create
    _refused(lambda: chat(model="no-such-model", messages=CHAT), 404, "model", "model_not_found")
    _refused(lambda: client.completions.create(model="nope", prompt="x"), 404, "model", "model_not_found")
    _refused(lambda: client.embeddings.create(model="nope", input="x"), 404, "model", "model_not_found")
    _refused(lambda: chat(model=model, messages=CHAT, n=2), 400, "n")
    _refused(lambda: chat(model=model, messages=CHAT, temperature=2.5), 400, "temperature")
    _refused(lambda: chat(model=model, messages=[]), 400, "messages")
    _refused(lambda: chat(model=model, messages=CHAT, logprobs=True), 400, "logprobs")
    _refused(lambda: chat(model=model, messages=CHAT, stop=["a", "b", "c", "d", "e"]), 400, "stop")
    # Found by the engine, named by the request's own fields: the chat's prompt is its messages.
    _refused(lambda: chat(model=model, messages=CHAT, max_completion_tokens=4096), 400, "max_completion_tokens")
    _refused(lambda: chat(model=model, messages=[{"role": "user", "content": "x" * 9000}]), 400, "messages")
    _refused(lambda: client.embeddings.create(model=model, input="x", dimensions=3), 400, "dimensions")
    error = _refused(lambda: client.completions.create(model=model, prompt="x", extra_body={"bogus": 1}), 400, "bogus")
    assert error["type"] == "invalid_request_error"


def test_a_refusal_found_once_a_stream_began_is_an_error_chunk(client, model):
    with pytest.raises(openai.APIError) as failed:
        list(client.completions.create(model=model, prompt="x", max_tokens=4095, stream=True))
    assert "n_ctx" in str(failed.value)


def test_the_openai_api_counts_in_the_same_series_as_the_native_one(client, base, model):
    before = {name: sample(base, name) for name in ("themis_generated_tokens_total", "themis_prompt_tokens_total")}
    successes = sample(base, "themis_inference_requests_total", status="success")
    answers = [client.chat.completions.create(model=model, messages=CHAT, max_tokens=7),
               client.completions.create(model=model, prompt="the contract", max_tokens=5)]  # fmt: skip
    assert sample(base, "themis_inference_requests_total", status="success") == successes + 2
    assert sample(base, "themis_generated_tokens_total") == before["themis_generated_tokens_total"] + 12
    prompt = sum(answer.usage.prompt_tokens for answer in answers)
    assert sample(base, "themis_prompt_tokens_total") == before["themis_prompt_tokens_total"] + prompt
    refused = sample(base, "themis_inference_requests_total", status="client_error")
    _refused(lambda: client.completions.create(model=model, prompt="x", n=3), 400, "n")
    assert sample(base, "themis_inference_requests_total", status="client_error") == refused + 1


def test_a_full_queue_is_a_429_with_retry_after_and_an_adapter_over_budget_a_507(cache, tmp_path):
    model_bytes = ensure_default_model(cache).stat().st_size
    config = {"max_in_flight": 1, "max_queued": 0, "vram_budget_bytes": model_bytes + 1024, "n_threads": 1}
    with running_shard(cache, tmp_path, **config) as (_, base):
        client = openai.OpenAI(base_url=f"{base}/v1", api_key="unused", max_retries=0)
        model = client.models.list().data[0].id
        error = _refused(lambda: client.completions.create(model="legal-lora", prompt="x", max_tokens=2), 507,
                         "model", "insufficient_vram")  # fmt: skip
        assert "VRAM budget" in error["message"]
        # The only slot is held by a request whose body is not finished.
        holder = OpenRequest(base, "/v1/completions", {"model": model, "prompt": "x", "max_tokens": 2}, complete=False)
        wait_until(lambda: sample(base, "themis_requests_in_flight") == 1, what="the slot to be taken")
        with pytest.raises(openai.RateLimitError) as refused:
            client.completions.create(model=model, prompt="x", max_tokens=2)
        assert holder.finish()[0] == 200
        assert int(refused.value.response.headers["retry-after"]) >= 1
        assert refused.value.response.json()["error"]["code"] == "rate_limit_exceeded"
        assert sample(base, "themis_requests_rejected_total", endpoint="inference") == 1


def test_min_tokens_and_ignore_eos_keep_a_model_that_stops_generating(tmp_path):
    # This model's end-of-sequence bias makes it stop after a few tokens by itself.
    stops = write_model(TinyModelSpec(eos_logit=7.0), tmp_path / "stops.gguf")
    with started_client(settings(tmp_path, model=stops)) as shard:
        body = {"model": "stops", "prompt": "Analyze this contract clause", "max_tokens": 40}
        free = shard.post("/v1/completions", json=body).json()
        at_least = shard.post("/v1/completions", json=body | {"min_tokens": 20}).json()
        to_the_end = shard.post("/v1/completions", json=body | {"ignore_eos": True}).json()
    assert free["choices"][0]["finish_reason"] == "stop" and free["usage"]["completion_tokens"] < 20
    assert at_least["usage"]["completion_tokens"] >= 20
    assert to_the_end["usage"]["completion_tokens"] == 40 and to_the_end["choices"][0]["finish_reason"] == "length"


def test_continuous_usage_stats_put_the_usage_so_far_on_every_chunk(base, model):
    body = {"model": model, "prompt": "the contract", "max_tokens": 12, "stream": True, "temperature": 0.9,
            "stream_options": {"include_usage": True, "continuous_usage_stats": True}}  # fmt: skip
    response = httpx.post(f"{base}/v1/completions", json=body, timeout=30)
    assert response.status_code == 200, response.text
    events = [block.removeprefix("data: ") for block in response.text.strip().split("\n\n")]
    assert events[-1] == "[DONE]"
    *chunks, last = [json.loads(event) for event in events[:-1]]
    assert last["choices"] == [] and last["usage"]["completion_tokens"] == 12
    counted = [chunk["usage"]["completion_tokens"] for chunk in chunks]
    # Each text chunk holds at least one new token; the finishing chunk has the whole count.
    assert all(earlier < later for earlier, later in itertools.pairwise(counted[:-1]))
    assert counted[0] >= 1 and counted[-1] == 12 and len(chunks) > 2
    assert {chunk["usage"]["prompt_tokens"] for chunk in chunks} == {last["usage"]["prompt_tokens"]}
    assert all(chunk["usage"]["total_tokens"] == chunk["usage"]["prompt_tokens"] + chunk["usage"]["completion_tokens"]
               for chunk in chunks)  # fmt: skip
    # Without include_usage it asks for nothing, as in vLLM.
    alone = body | {"stream_options": {"continuous_usage_stats": True}}
    assert '"usage"' not in httpx.post(f"{base}/v1/completions", json=alone, timeout=30).text
