"""/metrics exposes exactly the Source.SHARD catalogue metrics, and traffic moves their values."""

import json

import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from observatory.catalogue import CATALOGUE
from observatory.metric import MetricType, Source
from observatory.runtime.tinymodel import ensure_default_model
from support.runtime import model_cache, settings, started_client, wait_until

SHARD_METRICS = CATALOGUE.by_source(Source.SHARD)
# Series that stay at zero on a CPU-only machine, and why.
ZERO_ON_CPU = {
    "themis_cuda_fragmentation_events_total": "no CUDA allocator runs without a GPU",
    "themis_faiss_index_vram_bytes": "the FAISS index is a CPU index",
    "themis_faiss_scratch_vram_bytes": "the FAISS index is a CPU index",
    "themis_requests_in_flight": "a scrape bypasses admission, so nothing is in flight while it is served",
    "themis_requests_waiting": "the test's requests run one after another: none waits in line",
    "themis_inference_requests_running": "no inference runs while the scrape is served",
    "themis_request_queue_capacity": "the shard has no places in line (max_queued=0), so that a full shard says 429",
}

# Recorded once, when the model loads, before the first scrape.
AT_STARTUP = {"themis_model_load_latency_seconds"}


def _family_name(name: str, metric_type: MetricType) -> str:
    # The text parser names a counter's family without its _total suffix.
    return name.removesuffix("_total") if metric_type is MetricType.COUNTER else name


def _scrape(client) -> dict:
    response = client.get("/metrics")
    assert response.status_code == 200
    return {family.name: family for family in text_string_to_metric_families(response.text)}


def _total(family, metric) -> float:
    wanted = {MetricType.COUNTER: metric.name, MetricType.HISTOGRAM: f"{metric.name}_count"}.get(metric.type)
    return sum(sample.value for sample in family.samples if wanted is None or sample.name == wanted)


@pytest.fixture(scope="module")
def scrapes(tmp_path_factory):
    shard_settings = settings(
        model_cache(tmp_path_factory), max_in_flight=2, max_queued=0, model_quality={"mmlu": 0.42}
    )
    with started_client(shard_settings) as client:
        before = _scrape(client)
        _drive_traffic(client)
        # Recall is measured off the request path, after the adds: on a busy machine it lands after them.
        recall = "themis_vector_search_recall_at_10_ratio"
        wait_until(lambda: _scrape(client)[recall].samples[0].value > 0, what="the recall measurement")
        yield before, _scrape(client)


def _drive_traffic(client) -> None:
    rng = np.random.default_rng(0)
    for adapters in ([], [{"name": "legal-lora"}], [{"name": "legal-lora"}, {"name": "finance-lora", "scale": 0.5}]):
        response = client.post("/api/v1/inference", json={"prompt": "Hello there", "max_tokens": 8,
                                                          "adapters": adapters})  # fmt: skip
        assert response.status_code == 200, response.text
    client.post("/api/v1/inference", json={"prompt": ""})
    vectors = rng.standard_normal((40, 64)).tolist()
    ids = client.post("/api/v1/documents", json={"documents": [{"vector": v} for v in vectors]}).json()["ids"]
    client.post("/api/v1/search", json={"queries": [{"vector": v} for v in vectors[:5]], "k": 3})
    client.post("/api/v1/search", json={"text": "contract", "k": 2})
    client.delete(f"/api/v1/documents/{ids[0]}")
    queue = client.shard.queue
    while queue.try_enter():  # every slot taken and no place in line (max_queued=0)
        pass
    assert client.post("/api/v1/search", json={"text": "x", "k": 1}).status_code == 429
    for _ in range(queue.capacity):
        queue.release()


def test_exposes_exactly_the_catalogue_shard_metrics(scrapes):
    _, after = scrapes
    expected = {_family_name(m.name, m.type) for m in SHARD_METRICS}
    assert set(after) == expected


@pytest.mark.parametrize("metric", SHARD_METRICS, ids=lambda m: m.name)
def test_family_has_the_declared_type_and_labels(scrapes, metric):
    family = scrapes[1][_family_name(metric.name, metric.type)]
    assert family.type == metric.type.value
    assert family.samples, f"{metric.name} has no series"
    for sample in family.samples:
        assert set(sample.labels) - {"le"} == set(metric.label_names)
    for label in metric.labels:
        values = {sample.labels[label.name] for sample in family.samples}
        assert len(values) <= label.bound
        if label.values:
            assert values <= set(label.values)


@pytest.mark.parametrize("metric", SHARD_METRICS, ids=lambda m: m.name)
def test_traffic_moves_the_value(scrapes, metric):
    before, after = (scrape.get(_family_name(metric.name, metric.type)) for scrape in scrapes)
    now = _total(after, metric)
    if metric.name in ZERO_ON_CPU:
        assert now == 0, ZERO_ON_CPU[metric.name]
    elif metric.name in AT_STARTUP:
        assert now == 1
    elif metric.type is MetricType.GAUGE:
        assert now > 0, metric.name
    else:
        assert now > (_total(before, metric) if before else 0), metric.name


def test_stage_timings_come_from_every_stage(scrapes):
    family = scrapes[1]["themis_inference_stage_latency_seconds"]
    counts = {s.labels["stage"]: s.value for s in family.samples if s.name.endswith("_count")}
    assert counts == {"tokenize": 3.0, "prompt_eval": 3.0, "generation": 3.0}


def test_adapter_cache_counts_misses_and_hits(scrapes):
    after = scrapes[1]
    requests = _total(after["themis_lora_cache_requests"], CATALOGUE["themis_lora_cache_requests_total"])
    hits = _total(after["themis_lora_cache_hits"], CATALOGUE["themis_lora_cache_hits_total"])
    assert (requests, hits) == (3.0, 1.0)  # legal (miss), legal (hit) + finance (miss)


def test_recall_is_a_ratio(scrapes):
    (sample,) = scrapes[1]["themis_vector_search_recall_at_10_ratio"].samples
    assert 0 < sample.value <= 1


def _outcomes(client) -> dict[tuple[str, str], float]:
    """Requests by (endpoint, status), and 429s by ("rejected_total", endpoint)."""
    metrics = client.shard.metrics
    shard = {"shard": "legal"}
    sample = metrics.registry.get_sample_value
    counts = {}
    for status in ("success", "client_error", "server_error", "rejected"):
        counts["inference", status] = sample("themis_inference_requests_total", shard | {"model": metrics.model,
                                                                                         "status": status})  # fmt: skip
        counts["search", status] = sample("themis_vector_search_queries_total", shard | {"status": status})
    for endpoint in ("inference", "search"):
        counts["rejected_total", endpoint] = sample("themis_requests_rejected_total", shard | {"endpoint": endpoint})
    return counts


def test_every_finished_request_is_counted_with_its_status(tmp_path_factory):
    with started_client(settings(model_cache(tmp_path_factory), max_in_flight=2, max_queued=0)) as client:
        client.post("/api/v1/documents", json={"documents": [{"vector": [0.5] * 64}]})
        refused = [
            ("/api/v1/inference", {"prompt": ""}),  # request validation
            ("/api/v1/inference", {"prompt": "x", "adapters": [{"name": "no-such"}]}),  # refused by the shard
            ("/api/v1/search", {"vector": [1.0] * 64, "k": 0}),  # request validation
            ("/api/v1/search", {"vector": [1.0] * 3, "k": 1}),  # wrong dimension, refused by the shard
        ]
        for path, body in refused:
            assert client.post(path, json=body).status_code == 422
        assert client.post("/api/v1/inference", json={"prompt": "x", "max_tokens": 2}).status_code == 200
        queue = client.shard.queue
        while queue.try_enter():
            pass
        assert client.post("/api/v1/inference", json={"prompt": "x"}).status_code == 429
        assert client.post("/api/v1/search", json={"vector": [1.0] * 64}).status_code == 429
        for _ in range(queue.capacity):
            queue.release()
        counts = _outcomes(client)
    assert counts[("inference", "client_error")] == 2
    assert counts[("search", "client_error")] == 2
    assert counts[("inference", "success")] == 1
    assert counts[("inference", "rejected")] == counts[("search", "rejected")] == 1
    assert counts[("rejected_total", "inference")] == counts[("rejected_total", "search")] == 1
    assert counts[("inference", "server_error")] == counts[("search", "server_error")] == 0


def test_a_server_error_is_counted(tmp_path_factory):
    # A model over the VRAM budget never loads: the shard answers 503 to every API request.
    with started_client(settings(model_cache(tmp_path_factory), vram_budget_bytes=1000)) as client:
        assert client.post("/api/v1/inference", json={"prompt": "x"}).status_code == 503
        assert client.post("/api/v1/search", json={"vector": [1.0] * 64}).status_code == 503
        counts = _outcomes(client)
    assert counts[("inference", "server_error")] == counts[("search", "server_error")] == 1
    assert counts[("inference", "client_error")] == 0


def _finished(client, reason: str) -> float:
    labels = {"shard": "legal", "model": client.shard.metrics.model, "finish_reason": reason}
    return client.shard.metrics.registry.get_sample_value("themis_inference_finished_total", labels)


def _last_event(text: str) -> tuple[str, str]:
    name, data = text.strip().split("\n\n")[-1].splitlines()
    return name.removeprefix("event: "), data.removeprefix("data: ")


def test_a_stream_that_fails_after_its_200_counts_as_the_whole_answer_does(tmp_path_factory):
    # Room for one adapter: a request naming a second one fails when the shard loads it, at its turn
    # at the model, which for a stream is after the 200 and the headers went out.
    cache = model_cache(tmp_path_factory)
    budget = ensure_default_model(cache).stat().st_size + 10_000
    with started_client(settings(cache, vram_budget_bytes=budget)) as client:
        assert client.post("/api/v1/lora", json={"name": "legal-lora"}).status_code == 201
        body = {"prompt": "x", "max_tokens": 2, "adapters": [{"name": "finance-lora"}]}
        refused = client.post("/api/v1/inference", json=body)
        assert refused.status_code == 507 and refused.json()["field"] == "adapters"
        whole = _outcomes(client), _finished(client, "error")
        streamed = client.post("/api/v1/inference", json=body | {"stream": True})
        assert streamed.status_code == 200
        name, data = _last_event(streamed.text)
        assert name == "error" and json.loads(data) == refused.json()
        both = _outcomes(client), _finished(client, "error")
        # A context too small for max_tokens is the caller's error, found once the stream has begun.
        too_long = client.post("/api/v1/inference", json={"prompt": "x", "max_tokens": 2047, "stream": True})
        assert too_long.status_code == 200 and _last_event(too_long.text)[0] == "error"
        last = _outcomes(client), _finished(client, "error")
    assert whole == ({**whole[0], ("inference", "server_error"): 1}, 1)
    assert both == ({**whole[0], ("inference", "server_error"): 2}, 2)
    assert last == ({**both[0], ("inference", "client_error"): 1}, 2)
    assert last[0][("inference", "success")] == 0


def test_available_adapters_are_counted_from_zero_before_their_first_use(scrapes):
    # Without a series at zero, increase() cannot see an adapter's first requests.
    family = scrapes[0]["themis_lora_adapter_requests"]
    assert {sample.labels["adapter"]: sample.value for sample in family.samples} == {
        "finance-lora": 0.0,
        "legal-lora": 0.0,
    }
