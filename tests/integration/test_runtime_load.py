"""A real shard process under load: probes stay fast, requests queue instead of being refused, ids stay unique."""

import json
import statistics
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from support.runtime import get_json, model_cache, request_json, running_shard, sample

# Seed 000's probe timeouts are 3 s (readiness) and 5 s (liveness, startup); this bound is far below both.
PROBE_BOUND_S = 1.0
# Each generation keeps the model busy for longer than the probe bound (about 2 s for the tiny model
# here), as a real model's would: a probe that waited for a generation would exceed the bound.
N_CTX = 8192
LONG_GENERATION = {"prompt": "Analyze this contract clause for risk", "max_tokens": 4000}


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    with running_shard(model_cache(tmp_path_factory), tmp_path_factory.mktemp("load"), n_ctx=N_CTX) as (_, base):
        yield base


def _timed_get(url: str) -> tuple[int, float]:
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    return status, time.perf_counter() - started


@pytest.mark.slow
def test_probes_and_metrics_answer_fast_while_inference_and_search_saturate_the_shard(base):
    vectors = [[float((i * 3 + j) % 11) for j in range(64)] for i in range(100)]
    assert request_json("POST", f"{base}/api/v1/documents", {"documents": [{"vector": v} for v in vectors]})[0] == 201
    stop = threading.Event()
    answers: list[int] = []

    def generate() -> None:
        while not stop.is_set():
            answers.append(request_json("POST", f"{base}/api/v1/inference", LONG_GENERATION)[0])

    def search() -> None:
        while not stop.is_set():
            answers.append(request_json("POST", f"{base}/api/v1/search", {"text": "contract risk", "k": 5})[0])

    latencies: dict[str, list[float]] = {path: [] for path in ("/health", "/ready", "/startup", "/metrics")}
    with ThreadPoolExecutor(4) as load:
        # Two generators keep one generation running and one waiting for its turn at the model.
        workers = [load.submit(generate) for _ in range(2)] + [load.submit(search) for _ in range(2)]
        try:
            # Saturated: generations running and queued behind the model before the probes start.
            deadline = time.monotonic() + 30
            while sample(base, "themis_inference_requests_running") < 1:
                assert time.monotonic() < deadline, "no generation started"
                time.sleep(0.02)
            rounds = 15
            generating = 0
            for _ in range(rounds):
                for path, times in latencies.items():
                    status, seconds = _timed_get(f"{base}{path}")
                    assert status == 200, path
                    times.append(seconds)
                generating += sample(base, "themis_inference_requests_running") == 1
                time.sleep(0.05)
            # Saturated throughout: a round may fall in the moment one generation hands the model to the next.
            assert generating >= rounds - 2, f"a generation ran in only {generating} of {rounds} rounds"
        finally:
            stop.set()
            for worker in workers:
                worker.result()
    assert answers and set(answers) == {200}
    for path, times in latencies.items():
        assert max(times) < PROBE_BOUND_S, f"{path}: slowest {max(times):.3f} s, median {statistics.median(times):.3f}"


@pytest.mark.slow
def test_seed_load_test_100_requests_from_20_clients_are_all_answered(base):
    # Seed 000's test_high_load_concurrent_queries, against one shard (16 slots; the rest wait in line).
    def send_query(query_id: int) -> tuple[int, float]:
        started = time.perf_counter()
        status, _ = request_json("POST", f"{base}/api/v1/inference",
                                 {"prompt": f"Query {query_id}: Analyze this", "max_tokens": 100})  # fmt: skip
        return status, time.perf_counter() - started

    with ThreadPoolExecutor(max_workers=20) as executor:
        results = list(executor.map(send_query, range(100)))
    statuses = [status for status, _ in results]
    latencies = [latency for _, latency in results]
    assert statuses.count(200) == 100, statuses
    assert sum(latencies) / len(latencies) < 5.0  # the seed's CPU-mode bounds
    assert max(latencies) < 30.0


@pytest.mark.slow
def test_the_same_document_id_added_concurrently_lands_once(base):
    clients = 8
    start = threading.Barrier(clients)

    def add(n: int) -> int:
        start.wait()
        return request_json("POST", f"{base}/api/v1/documents",
                            {"documents": [{"id": 424242, "text": f"clause number {n}"}]})[0]  # fmt: skip

    before = sample(base, "themis_faiss_index_operations_total", operation="add")
    with ThreadPoolExecutor(clients) as executor:
        statuses = sorted(executor.map(add, range(clients)))
    assert statuses == [201] + [409] * (clients - 1)
    assert sample(base, "themis_faiss_index_operations_total", operation="add") == before + 1
    assert request_json("DELETE", f"{base}/api/v1/documents/424242")[0] == 204
    assert request_json("DELETE", f"{base}/api/v1/documents/424242")[0] == 404  # it was there once


@pytest.mark.slow
def test_a_streamed_answer_arrives_before_it_is_finished(base):
    body = LONG_GENERATION | {"stream": True, "max_tokens": 1500}
    request = urllib.request.Request(f"{base}/api/v1/inference", data=json.dumps(body).encode(), method="POST",
                                     headers={"content-type": "application/json"})  # fmt: skip
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        first = response.readline().decode()
        running_while_streaming = sample(base, "themis_inference_requests_running")
        rest = response.read().decode()
    assert first == "event: token\n"
    assert running_while_streaming == 1  # the first token came while the generation went on
    done = json.loads(rest.rsplit("event: done\ndata: ", 1)[1])
    assert (done["completion_tokens"], done["finish_reason"]) == (1500, "length")
    assert get_json(f"{base}/ready")[0] == 200


def test_embeddings_answer_while_a_generation_runs(base):
    # The orchestrator embeds texts for its similarity scores while the shard generates: the embedding
    # context beside the generation's must answer without waiting for the generation to end.
    body = LONG_GENERATION | {"stream": True}
    request = urllib.request.Request(f"{base}/api/v1/inference", data=json.dumps(body).encode(), method="POST",
                                     headers={"content-type": "application/json"})  # fmt: skip
    with urllib.request.urlopen(request, timeout=120) as response:
        assert response.readline().decode() == "event: token\n"
        status, embedded = request_json("POST", f"{base}/api/v1/embeddings", {"texts": ["the contract", "the market"]})
        running_after_embedding = sample(base, "themis_inference_requests_running")
        rest = response.read().decode()
    assert status == 200
    assert embedded["dim"] == 64 and [len(vector) for vector in embedded["vectors"]] == [64, 64]
    assert running_after_embedding == 1  # answered while the generation still went on
    assert json.loads(rest.rsplit("event: done\ndata: ", 1)[1])["completion_tokens"] == LONG_GENERATION["max_tokens"]
