"""The shard's API in process (real llama.cpp, FAISS and adapters): the seed's unit tests and bad input."""

import hashlib
import json
import logging

import numpy as np
import pytest

from observatory.runtime.tinymodel import TinyModelSpec, ensure_default_model, write_model
from support.runtime import ADMIN_TOKEN, model_cache, settings, started_client


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return model_cache(tmp_path_factory)


@pytest.fixture(scope="module")
def client(cache):
    with started_client(settings(cache, max_in_flight=4)) as client:
        yield client


# More tokens than one embedding batch (llama-cpp-python's n_batch, 512) holds: each word is one token.
LONG_TEXT = "contract " * 600


def _vectors(n: int, seed: int = 0) -> list[list[float]]:
    return np.random.default_rng(seed).standard_normal((n, 64)).round(4).tolist()


def test_basic_inference_returns_tokens_and_timings(client):
    response = client.post("/api/v1/inference", json={"prompt": "Hello, how are you?", "max_tokens": 100,
                                                      "temperature": 0.7})  # fmt: skip
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["completion_tokens"] == 100
    assert body["prompt_tokens"] > 0
    assert body["text"]
    assert body["timings"]["generation"] > 0
    assert body["timings"]["total"] >= body["timings"]["generation"]
    assert body["tokens_per_second"] > 0
    assert 0 < body["kv_cache_usage_ratio"] <= 1


def test_lora_loading_counts_active_adapters(client):
    response = client.post("/api/v1/lora", json={"name": "legal-lora", "scale": 0.8})
    assert response.status_code == 201, response.text
    loaded = {a["name"]: a for a in response.json()["loaded"]}
    assert loaded["legal-lora"]["scale"] == 0.8
    assert client.post("/api/v1/lora", json={"name": "legal-lora"}).status_code == 409
    assert client.get("/api/v1/lora").json()["vram_reserved_bytes"] > loaded["legal-lora"]["size_bytes"]
    assert client.get("/health").json()["lora_count"] == len(loaded)


def test_lora_fusion_uses_two_adapters_and_changes_the_output(client):
    prompt = {"prompt": "Analyze this M&A contract for financial risks", "max_tokens": 24, "temperature": 0}
    plain = client.post("/api/v1/inference", json=prompt).json()
    fused = client.post(
        "/api/v1/inference",
        json=prompt | {"adapters": [{"name": "legal-lora", "scale": 0.8}, {"name": "finance-lora", "scale": 0.6}]},
    ).json()
    assert fused["adapters_used"] == ["legal-lora", "finance-lora"]
    assert fused["timings"]["adapter_switch"] is not None
    assert fused["text"] != plain["text"]
    again = client.post("/api/v1/inference", json=prompt).json()
    assert again["text"] == plain["text"]  # switching back drops the adapters and the stale prompt cache


def test_unloading_frees_the_adapter(client):
    client.post("/api/v1/lora", json={"name": "finance-lora"})
    assert client.delete("/api/v1/lora/finance-lora").status_code == 200
    assert "finance-lora" not in [a["name"] for a in client.get("/api/v1/lora").json()["loaded"]]
    assert client.delete("/api/v1/lora/finance-lora").status_code == 404


def test_vram_limit_refuses_a_load_with_507_and_keeps_serving(cache, tmp_path):
    model_bytes = ensure_default_model(cache).stat().st_size
    with started_client(settings(cache, vram_budget_bytes=model_bytes + 10_000)) as small:
        assert small.post("/api/v1/lora", json={"name": "legal-lora"}).status_code == 201
        refused = small.post("/api/v1/lora", json={"name": "finance-lora"})
        assert refused.status_code == 507
        assert refused.json()["field"] == "name"
        assert "VRAM budget" in refused.json()["error"]
        listing = small.get("/api/v1/lora").json()
        assert [a["name"] for a in listing["loaded"]] == ["legal-lora"]
        assert listing["vram_reserved_bytes"] <= listing["vram_budget_bytes"]
        assert small.get("/health").json()["status"] == "degraded"  # over 95 % of the budget reserved
        assert small.post("/api/v1/inference", json={"prompt": "still serving", "max_tokens": 4}).status_code == 200


def test_a_model_over_budget_leaves_the_shard_unhealthy_not_crashed(cache):
    with started_client(settings(cache, vram_budget_bytes=1000)) as client:
        assert client.get("/startup").status_code == 503
        health = client.get("/health")
        assert health.status_code == 503
        assert health.json()["status"] == "unhealthy"
        assert "VRAM budget" in health.json()["error"]
        refused = client.post("/api/v1/inference", json={"prompt": "x"})
        assert refused.status_code == 503 and "VRAM budget" in refused.json()["error"]


def test_a_model_that_does_not_load_says_so_in_words_without_internals(cache, tmp_path):
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF but not really" * 50)
    with started_client(settings(cache, model=broken)) as client:
        startup = client.get("/startup")
        assert startup.status_code == 503
        assert startup.json() == {"started": False, "error": "the model could not be loaded; see the shard's log"}
        for answer in (client.get("/health"), client.post("/api/v1/inference", json={"prompt": "x"})):
            assert answer.status_code == 503
            assert str(tmp_path) not in answer.text and "Traceback" not in answer.text
        assert client.shard.exit_code == 1  # the server is asked to stop, and the process exits 1


def test_an_unexpected_failure_is_a_500_in_words_with_the_details_in_the_log(cache, tmp_path, caplog):
    # The adapter directory became a file on disk after start: storing an uploaded adapter fails with an
    # OSError that names the path, which no handler of the shard expects.
    adapter_dir = tmp_path / "adapters"
    with started_client(settings(cache, adapter_dir=adapter_dir)) as client:
        adapter_dir.write_bytes(b"not a directory")
        data = b"adapter bytes"
        with caplog.at_level(logging.ERROR, logger="observatory.runtime"):
            failed = client.put("/api/v1/lora/files/new-lora", content=data,
                                headers={"x-sha256": hashlib.sha256(data).hexdigest()})  # fmt: skip
        assert client.get("/health").status_code == 200  # the shard goes on serving
    assert failed.status_code == 500
    assert failed.json() == {"error": "the shard failed to handle the request; see the shard's log", "field": None}
    assert str(tmp_path) not in failed.text and "Errno" not in failed.text
    (record,) = [record for record in caplog.records if record.exc_info]
    assert record.getMessage() == "PUT /api/v1/lora/files/new-lora failed"
    assert isinstance(record.exc_info[1], FileExistsError) and str(adapter_dir) in caplog.text


def _events(text: str) -> list[tuple[str, dict]]:
    events = []
    for block in text.strip().split("\n\n"):
        name, data = (line.split(": ", 1)[1] for line in block.splitlines())
        events.append((name, json.loads(data)))
    return events


@pytest.mark.parametrize("temperature", [0.0, 0.7])
def test_a_streamed_answer_has_the_tokens_of_the_whole_answer(client, temperature):
    body = {"prompt": "Analyze this contract clause", "max_tokens": 40, "temperature": temperature}
    whole = client.post("/api/v1/inference", json=body).json()
    with client.stream("POST", "/api/v1/inference", json=body | {"stream": True}) as streamed:
        assert streamed.status_code == 200
        assert streamed.headers["content-type"].startswith("text/event-stream")
        events = _events(streamed.read().decode())
    names = [name for name, _ in events]
    assert names == ["token"] * (len(events) - 1) + ["done"] and len(events) > 2
    assert "".join(data["text"] for _, data in events[:-1]) == whole["text"]
    done = events[-1][1]
    assert done["text"] == whole["text"]
    assert (done["completion_tokens"], done["prompt_tokens"]) == (whole["completion_tokens"], whole["prompt_tokens"])
    assert done["finish_reason"] == "length"


def test_a_stream_that_fails_to_start_is_a_plain_error(client):
    response = client.post("/api/v1/inference", json={"prompt": "x" * 9000, "stream": True})
    assert response.status_code == 422 and response.json()["field"] == "prompt"
    failing = client.post("/api/v1/inference", json={"prompt": "x", "max_tokens": 2047, "stream": True})
    assert failing.status_code == 200  # the context is checked once the stream has begun
    ((name, data),) = _events(failing.text)
    assert name == "error" and data["field"] == "max_tokens" and "n_ctx" in data["error"]


def test_a_model_that_ends_its_sequence_finishes_with_stop(tmp_path):
    # The default model never samples end-of-sequence; this one's bias makes it likely, so a completion
    # ends by itself after a few tokens, before max_tokens.
    model = write_model(TinyModelSpec(eos_logit=7.0), tmp_path / "stops.gguf")
    body = {"prompt": "Analyze this contract clause", "max_tokens": 64, "temperature": 0.7}
    with started_client(settings(tmp_path, model=model)) as client:
        whole = client.post("/api/v1/inference", json=body)
        streamed = _events(client.post("/api/v1/inference", json=body | {"stream": True}).text)
        metrics = client.shard.metrics
        finished = {
            reason: metrics.registry.get_sample_value(
                "themis_inference_finished_total", {"shard": "legal", "model": metrics.model, "finish_reason": reason}
            )
            for reason in ("stop", "length")
        }
    assert whole.status_code == 200 and 0 < whole.json()["completion_tokens"] < body["max_tokens"]
    name, done = streamed[-1]
    assert name == "done" and done["finish_reason"] == "stop"
    assert (done["text"], done["completion_tokens"]) == (whole.json()["text"], whole.json()["completion_tokens"])
    assert finished == {"stop": 2, "length": 0}


def test_vector_search_returns_k_results_sorted_by_distance(client):
    added = client.post("/api/v1/documents", json={"documents": [{"vector": v} for v in _vectors(250)]})
    assert added.status_code == 201, added.text
    texts = client.post("/api/v1/documents", json={"documents": [{"text": "the contract clause"},
                                                                  {"text": "the patient data"}]})  # fmt: skip
    contract_id = texts.json()["ids"][0]
    hits = client.post("/api/v1/search", json={"vector": _vectors(1, seed=9)[0], "k": 10}).json()["results"][0]
    assert len(hits) == 10
    distances = [hit["distance"] for hit in hits]
    assert distances == sorted(distances) and distances[0] < distances[9]
    by_text = client.post("/api/v1/search", json={"text": "the contract clause", "k": 1}).json()["results"][0]
    assert by_text[0]["id"] == contract_id and by_text[0]["text"] == "the contract clause"


def test_batched_search_and_delete(client):
    client.post("/api/v1/documents", json={"documents": [{"id": 7_000_000, "vector": _vectors(1, seed=5)[0]}]})
    batch = {"queries": [{"vector": _vectors(1, seed=5)[0]}, {"text": "patient"}], "k": 3}
    results = client.post("/api/v1/search", json=batch).json()["results"]
    assert len(results) == 2 and all(len(row) == 3 for row in results)
    assert results[0][0]["id"] == 7_000_000
    assert client.delete("/api/v1/documents/7000000").status_code == 204
    again = client.post("/api/v1/search", json=batch).json()["results"]
    assert again[0][0]["id"] != 7_000_000
    assert client.delete("/api/v1/documents/7000000").status_code == 404


@pytest.mark.parametrize(
    ("path", "body", "status", "field"),
    [
        ("/api/v1/inference", {"prompt": ""}, 422, "prompt"),
        ("/api/v1/inference", {"prompt": "x" * 9000}, 422, "prompt"),
        ("/api/v1/inference", {"prompt": "x", "max_tokens": 0}, 422, "max_tokens"),
        ("/api/v1/inference", {"prompt": "x", "max_tokens": 5000}, 422, "max_tokens"),
        ("/api/v1/inference", {"prompt": "x", "max_tokens": 2047}, 422, "max_tokens"),
        ("/api/v1/inference", {"prompt": "x", "temperature": -1}, 422, "temperature"),
        ("/api/v1/inference", {"prompt": "x", "adapters": [{"name": "no-such"}]}, 422, "adapters.0.name"),
        ("/api/v1/inference", {"prompt": "x", "adapters": [{"name": "../etc"}]}, 422, "adapters.0.name"),
        ("/api/v1/inference", {"prompt": "x", "adapters": [{"name": "legal-lora"}] * 2}, 422, "adapters"),
        ("/api/v1/inference", {"prompt": "x", "surprise": 1}, 422, "surprise"),
        ("/api/v1/inference", {}, 422, "prompt"),
        ("/api/v1/search", {"vector": [1.0] * 64, "k": 0}, 422, "k"),
        ("/api/v1/search", {"vector": [1.0] * 64, "k": 9999}, 422, "k"),
        ("/api/v1/search", {"vector": [1.0, 2.0], "k": 1}, 422, "vector"),
        ("/api/v1/search", {"queries": [{"vector": [1.0]}], "k": 1}, 422, "queries.0.vector"),
        ("/api/v1/search", {"vector": [1.0] * 63 + [1e39], "k": 1}, 422, "vector.63"),
        ("/api/v1/search", {"queries": [{"text": "a"}, {"text": LONG_TEXT}], "k": 1}, 422, "queries.1.text"),
        ("/api/v1/search", {"text": LONG_TEXT, "k": 1}, 422, "text"),
        ("/api/v1/documents", {"documents": [{"vector": [1.0] * 64}, {"text": LONG_TEXT}]}, 422, "documents.1.text"),
        ("/api/v1/documents", {"documents": [{"vector": [1.0] * 3}]}, 422, "documents.0.vector"),
        ("/api/v1/documents", {"documents": [{"text": "a", "vector": [1.0] * 64}]}, 422, "documents.0"),
        ("/api/v1/documents", {"documents": []}, 422, "documents"),
        ("/api/v1/lora", {"name": "missing-adapter"}, 404, "name"),
    ],
)
def test_bad_input_gets_a_4xx_naming_the_field(client, path, body, status, field):
    response = client.post(path, json=body)
    assert response.status_code == status, response.text
    assert response.json()["field"] == field
    assert response.json()["error"]


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize(("path", "template", "field"), [
    ("/api/v1/search", '{"vector": [%s], "k": 1}', "vector.1"),
    ("/api/v1/documents", '{"documents": [{"vector": [%s]}]}', "documents.0.vector.1"),
])  # fmt: skip
def test_non_finite_vector_components_are_refused(client, path, template, field, value):
    # Python's JSON parser reads these tokens; FAISS would store or search them as poisoned distances.
    components = ", ".join(["0.5", value, *["0.5"] * 62])
    response = client.post(path, content=(template % components).encode(), headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field


def test_a_malformed_body_is_a_422(client):
    response = client.post("/api/v1/inference", content=b'{"prompt": ', headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["field"] == "body"


def test_backpressure_answers_429_and_turns_ready_false(cache):
    with started_client(settings(cache, max_in_flight=4, max_queued=0)) as client:
        queue = client.shard.queue
        held = 0
        while queue.try_enter():  # occupy every slot as requests in flight would; there is no place in line
            held += 1
        try:
            assert held == 4
            refused = client.post("/api/v1/inference", json={"prompt": "x", "max_tokens": 1})
            assert refused.status_code == 429
            assert refused.headers["retry-after"] == "1"
            assert client.get("/ready").status_code == 503
            assert client.get("/health").json()["status"] == "degraded"
            scrape = client.get("/metrics")  # probes and scrapes bypass admission
            assert scrape.status_code == 200
            assert 'themis_requests_in_flight{shard="legal"} 4.0' in scrape.text  # read from the queue
        finally:
            for _ in range(held):
                queue.release()
        assert client.get("/ready").json() == {"ready": True, "capacity_used": 0.0}


def test_probes_report_the_seed_fields(client):
    health = client.get("/health")
    assert health.status_code == 200
    assert {"status", "gpu_available", "model_loaded", "vram_used_bytes", "active_requests", "uptime_seconds",
            "lora_count"} <= set(health.json())  # fmt: skip
    assert client.get("/startup").json()["started"] is True


def test_shutdown_needs_the_bearer_token(client):
    assert client.post("/admin/shutdown").status_code == 401
    assert client.post("/admin/shutdown", headers={"authorization": "Bearer wrong"}).status_code == 401
    asked = []
    client.shard.request_shutdown = lambda: asked.append(True)
    response = client.post("/admin/shutdown", headers={"authorization": f"Bearer {ADMIN_TOKEN}"})
    assert response.status_code == 202 and asked == [True]


def test_shutdown_is_disabled_without_a_configured_token(cache):
    with started_client(settings(cache, admin_token=None)) as client:
        assert client.post("/admin/shutdown", headers={"authorization": "Bearer anything"}).status_code == 403


def test_the_same_adapter_uploaded_concurrently_is_kept_and_loaded_once(client, cache, tmp_path):
    # Idempotent for the same bytes even at once: the loser of a race must not delete the winner's file.
    from concurrent.futures import ThreadPoolExecutor

    source = client.get("/api/v1/lora").json()["available"][0]
    data = client.get(f"/api/v1/lora/files/{source}/content").content
    headers = {"x-sha256": hashlib.sha256(data).hexdigest()}
    # A shard of its own, so the copy stays out of the adapters every other test's shard reads.
    with started_client(settings(cache, adapter_dir=tmp_path)) as receiver, ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda _: receiver.put("/api/v1/lora/files/copy-lora", content=data, headers=headers),
                                range(6)))  # fmt: skip
        assert [answer.status_code for answer in answers] == [200] * 6, [answer.text for answer in answers]
        kept = receiver.get("/api/v1/lora/files/copy-lora")
        assert kept.status_code == 200 and kept.json()["loaded"] is True
        assert kept.json()["sha256"] == headers["x-sha256"] and kept.json()["size_bytes"] == len(data)


def test_an_adapter_over_the_size_limit_is_refused_before_its_body_is_read(client, monkeypatch):
    from observatory.runtime import routes_transfer

    monkeypatch.setattr(routes_transfer, "MAX_ADAPTER_BYTES", 4)
    refused = client.put("/api/v1/lora/files/big-lora", content=b"12345", headers={"x-sha256": "0" * 64})
    assert refused.status_code == 413 and refused.json()["field"] == "body"
    assert client.get("/api/v1/lora/files/big-lora").status_code == 404


def test_a_document_id_given_twice_or_in_use_is_a_409_naming_its_position(client):
    vector = _vectors(1)[0]
    first = client.post("/api/v1/documents", json={"documents": [{"id": 900001, "vector": vector}]})
    assert first.status_code == 201, first.text
    for ids, field in (([900003, 900001], "documents.1.id"), ([900002, 900002], "documents.1.id")):
        answer = client.post("/api/v1/documents", json={"documents": [{"id": i, "vector": vector} for i in ids]})
        assert (answer.status_code, answer.json()["field"]) == (409, field), answer.text
    assert client.delete("/api/v1/documents/900003").status_code == 404  # nothing of a refused batch was added
    assert client.delete("/api/v1/documents/900001").status_code == 204
