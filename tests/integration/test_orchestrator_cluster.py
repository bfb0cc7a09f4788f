"""Seed 000's multi-shard cases through a real orchestrator and four real shards (the tiny model).

One cluster serves the module: legal and finance hold the generated adapters, risk and medical start
with none, and medical's VRAM budget has no room for an adapter. The failover and SIGTERM tests stop
processes, so they run last.
"""

from __future__ import annotations

import hashlib
import itertools
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from observatory.catalogue import CATALOGUE
from observatory.metric import Source
from observatory.orchestrator.bench import seed_dag_request
from observatory.orchestrator.scores import similarity_ratio
from observatory.runtime.tinymodel import ensure_default_model
from support.orchestrator import pdf_with_text, running_cluster
from support.runtime import ADMIN_TOKEN, model_cache

pytestmark = pytest.mark.slow

DOMAINS = ("legal", "finance", "risk", "medical")
MAX_UPLOAD = 64 * 1024


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    cache = model_cache(tmp_path_factory)
    workdir = tmp_path_factory.mktemp("cluster")
    model_bytes = ensure_default_model(cache).stat().st_size

    def shard_config(domain: str) -> dict:
        if domain in ("risk", "medical"):
            empty = workdir / f"adapters-{domain}"
            empty.mkdir()
            config = {"adapter_dir": str(empty)}
            # Room for the model and not for one adapter.
            return config | ({"vram_budget_bytes": model_bytes + 1024} if domain == "medical" else {})
        return {}

    with running_cluster(DOMAINS, workdir, cache, shard_config, {"max_upload_bytes": MAX_UPLOAD}) as (stack, urls):
        client = httpx.Client(base_url=urls["orchestrator"], timeout=60)
        client.stack = stack
        client.urls = urls
        with client:
            yield client


def _refused(response: httpx.Response, status: int, field: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["field"] == field, response.text


def _metrics(client: httpx.Client) -> dict:
    return {family.name: family for family in text_string_to_metric_families(client.get("/metrics").text)}


def _sample(families: dict, name: str, **labels) -> float:
    metric, _suffix = CATALOGUE.resolve_series(name)
    family = families[metric.name.removesuffix("_total")]
    return sum(s.value for s in family.samples if s.name == name and labels.items() <= s.labels.items())


def test_seed_dag_runs_level_by_level_in_parallel(cluster):
    started = time.monotonic()
    response = cluster.post("/api/v1/reasoning/dag", json=seed_dag_request())
    wall = time.monotonic() - started
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["success"] is True
    assert result["steps_executed"] == 10
    assert result["levels"] == 5
    assert wall < 10
    steps = {step["name"]: step for step in result["steps"]}
    for name, deps, shard in [(s["name"], s["depends_on"], s["shard"]) for s in seed_dag_request()["steps"]]:
        if shard != "orchestrator":
            assert steps[name]["shard"] == shard
        for dependency in deps:
            assert steps[name]["started"] >= steps[dependency]["ended"], (name, dependency)
    assert steps["step10"]["shard"] in DOMAINS
    # Parallel: the first level's three steps ran at once, each starting before any of them ended.
    first_level = [steps[name] for name in ("step1", "step2", "step3")]
    assert max(step["started"] for step in first_level) < min(step["ended"] for step in first_level)
    durations = sum(step["ended"] - step["started"] for step in result["steps"])
    assert result["sequential_latency_seconds"] == pytest.approx(durations)
    assert result["speedup"] == pytest.approx(durations / result["latency_seconds"])


def test_sequential_dag_runs_one_step_at_a_time(cluster):
    result = cluster.post("/api/v1/reasoning/dag", json=seed_dag_request("sequential")).json()
    assert result["steps_executed"] == 10
    spans = sorted((step["started"], step["ended"]) for step in result["steps"])
    assert all(later[0] >= earlier[1] for earlier, later in itertools.pairwise(spans))


def test_bad_dags_are_refused_naming_the_field(cluster):
    cyclic = {"task": "t", "steps": [{"name": "a", "depends_on": ["b"], "shard": "legal"},
                                     {"name": "b", "depends_on": ["a"], "shard": "legal"}]}  # fmt: skip
    _refused(cluster.post("/api/v1/reasoning/dag", json=cyclic), 422, "steps.0.depends_on")
    unknown = {"task": "t", "steps": [{"name": "a", "shard": "legal"}, {"name": "b", "shard": "astrology"}]}
    _refused(cluster.post("/api/v1/reasoning/dag", json=unknown), 422, "steps.1.shard")
    _refused(cluster.post("/api/v1/reasoning/dag", json={"task": "t", "steps": []}), 422, "steps")


def test_federated_rag_returns_documents_of_both_shards(cluster):
    for domain, text in (("legal", "The indemnity clause caps liability."), ("finance", "Revenue grew ten percent.")):
        response = cluster.post("/api/v1/documents", json={"domain": domain, "text": text, "title": domain})
        assert response.status_code == 200, response.text
        assert response.json()["shard"] == domain
    query = {"query": "What are the financial risks in this legal contract?", "domains": ["legal", "finance"],
             "top_k": 10}  # fmt: skip
    result = cluster.post("/api/v1/rag", json=query).json()
    assert sorted(result["participating_shards"]) == ["finance", "legal"]
    assert result["missing_shards"] == []
    assert {doc["shard"] for doc in result["documents"]} == {"legal", "finance"}
    scores = [doc["score"] for doc in result["documents"]]
    assert scores == sorted(scores, reverse=True)
    assert result["latency_seconds"] < 1
    _refused(cluster.post("/api/v1/rag", json=query | {"domains": []}), 422, "domains")
    _refused(cluster.post("/api/v1/rag", json=query | {"domains": ["legal", "astrology"]}), 422, "domains.1")


def test_lora_transfer_moves_verified_bytes_then_hits_the_cache(cluster):
    legal = cluster.urls["shard-legal"]
    original = httpx.get(f"{legal}/api/v1/lora/files/legal-lora/content").content
    body = {"adapter": "legal-lora", "source": "legal", "destination": "risk"}
    first = cluster.post("/api/v1/lora/transfer", json=body).json()
    assert first == first | {"transferred": True, "cache_hit": False, "bytes": len(original),
                             "sha256": hashlib.sha256(original).hexdigest()}  # fmt: skip
    held = httpx.get(f"{cluster.urls['shard-risk']}/api/v1/lora").json()
    assert [adapter["name"] for adapter in held["loaded"]] == ["legal-lora"]
    repeats = [cluster.post("/api/v1/lora/transfer", json=body).json() for _ in range(3)]
    assert all(r["cache_hit"] and r["bytes"] == 0 and r["sha256"] == first["sha256"] for r in repeats)
    assert min(r["seconds"] for r in repeats) < 0.05
    answer = httpx.post(f"{cluster.urls['shard-risk']}/api/v1/inference",
                        json={"prompt": "x", "max_tokens": 4, "adapters": [{"name": "legal-lora"}]})  # fmt: skip
    assert answer.json()["adapters_used"] == ["legal-lora"]


def test_lora_transfer_refusals(cluster):
    body = {"adapter": "finance-lora", "source": "finance", "destination": "medical"}
    over = cluster.post("/api/v1/lora/transfer", json=body)
    _refused(over, 507, "destination")
    assert "VRAM budget" in over.json()["error"]
    held = httpx.get(f"{cluster.urls['shard-medical']}/api/v1/lora").json()
    assert (held["loaded"], held["available"]) == ([], [])  # the refused file was not kept either
    _refused(cluster.post("/api/v1/lora/transfer", json=body | {"adapter": "ghost"}), 404, "adapter")
    _refused(cluster.post("/api/v1/lora/transfer", json=body | {"source": "astrology"}), 422, "source")
    _refused(cluster.post("/api/v1/lora/transfer", json=body | {"destination": "finance"}), 422, "destination")


def test_shard_side_transfer_routes_check_what_they_are_given(cluster):
    medical = cluster.urls["shard-medical"]
    data = b"not an adapter"
    wrong = httpx.put(f"{medical}/api/v1/lora/files/x", content=data, headers={"x-sha256": "0" * 64})
    _refused(wrong, 422, "x-sha256")
    legal = cluster.urls["shard-legal"]
    other = httpx.put(f"{legal}/api/v1/lora/files/legal-lora", content=data,
                      headers={"x-sha256": hashlib.sha256(data).hexdigest()})  # fmt: skip
    _refused(other, 409, "name")
    _refused(httpx.get(f"{legal}/api/v1/lora/files/ghost"), 404, "name")
    # An empty index answers no hits rather than an error, so a federated query counts it as taking part.
    empty = httpx.post(f"{medical}/api/v1/federated/search", json={"text": "anything", "k": 5})
    assert empty.json() == {"results": [[]]}
    _refused(httpx.post(f"{medical}/api/v1/embeddings", json={"texts": []}), 422, "texts")


def test_hundred_requests_from_twenty_clients_all_answer_and_probes_stay_fast(cluster):
    probe_seconds: list[float] = []
    done = threading.Event()

    def probe() -> None:
        while not done.is_set():
            started = time.monotonic()
            assert cluster.get("/ready").status_code == 200
            probe_seconds.append(time.monotonic() - started)

    def send(number: int) -> int:
        body = {"prompt": f"Query {number}: Analyze this", "max_tokens": 100}
        return cluster.post("/api/v1/inference", json=body).status_code

    prober = threading.Thread(target=probe)
    prober.start()
    try:
        with ThreadPoolExecutor(max_workers=20) as pool:
            statuses = list(pool.map(send, range(100)))
    finally:
        done.set()
        prober.join()
    assert statuses.count(200) >= 95
    assert not [status for status in statuses if status >= 500]
    assert probe_seconds and max(probe_seconds) < 2


def test_consensus_scores_are_the_documented_computation(cluster):
    domains = ["legal", "finance", "risk"]
    result = cluster.post("/api/v1/consensus", json={"query": "Is the contract risky?", "domains": domains}).json()
    assert [p["domain"] for p in result["perspectives"]] == domains
    assert len(result["agreement"]) == 3
    assert result["consensus_score"] == pytest.approx(statistics.mean(pair["ratio"] for pair in result["agreement"]))
    assert result["fused"]
    # Recompute from the shards' own embeddings: every shard serves the same model.
    texts = ["Is the contract risky?", *("\n".join(p["findings"]) for p in result["perspectives"])]
    vectors = httpx.post(f"{cluster.urls['shard-medical']}/api/v1/embeddings", json={"texts": texts}).json()["vectors"]
    for perspective, vector in zip(result["perspectives"], vectors[1:], strict=True):
        assert perspective["confidence"] == pytest.approx(similarity_ratio(vector, vectors[0]), abs=1e-5)
    _refused(cluster.post("/api/v1/consensus", json={"query": "q", "domains": []}), 422, "domains")


def test_legal_analysis_workflow(cluster):
    pdf = pdf_with_text(["Article 1. The buyer pays five million.", "Article 2. The seller warrants title."])
    upload = cluster.post("/api/v1/documents/upload", files={"file": ("ma_contract.pdf", pdf, "application/pdf")},
                          data={"domain": "legal"})  # fmt: skip
    assert upload.status_code == 200, upload.text
    request = {"document_id": upload.json()["document_id"], "analysis_types": ["legal", "financial", "risk", "ip"],
               "mode": "parallel_cot", "depth": 10}  # fmt: skip
    response = cluster.post("/api/v1/analysis/distributed", json=request)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["success"] is True
    assert [p["domain"] for p in result["perspectives"]] == ["legal", "financial", "risk", "ip"]
    assert result["steps_executed"] == 40
    for perspective in result["perspectives"]:
        assert len(perspective["findings"]) > 0
        assert 0 <= perspective["confidence"] <= 1
    assert result["consensus_score"] == pytest.approx(statistics.mean(pair["ratio"] for pair in result["agreement"]))
    _refused(cluster.post("/api/v1/analysis/distributed", json=request | {"document_id": "nope"}), 404, "document_id")
    wrong = request | {"analysis_types": ["legal", "astrology"]}
    _refused(cluster.post("/api/v1/analysis/distributed", json=wrong), 422, "analysis_types.1")


def test_bad_documents_are_refused_naming_the_field(cluster):
    def upload(name: str, data: bytes, kind: str, domain: str = "legal") -> httpx.Response:
        return cluster.post("/api/v1/documents/upload", files={"file": (name, data, kind)}, data={"domain": domain})

    _refused(upload("photo.png", b"\x89PNG\r\n", "image/png"), 415, "file")
    _refused(upload("big.txt", b"word " * (MAX_UPLOAD // 5 + 1), "text/plain"), 413, "file")
    _refused(upload("a.txt", b"text", "text/plain", domain="astrology"), 422, "domain")
    _refused(cluster.post("/api/v1/documents/upload", data={"domain": "legal"}), 422, "file")
    _refused(cluster.post("/api/v1/documents", json={"domain": "legal", "text": "   "}), 422, "text")


def test_tasks_run_durably_with_progress_per_node(cluster):
    submitted = cluster.post("/api/v1/tasks", json={"kind": "dag", "request": seed_dag_request()})
    assert submitted.status_code == 202, submitted.text
    task_id = submitted.json()["task_id"]
    deadline = time.monotonic() + 60
    while (task := cluster.get(f"/api/v1/tasks/{task_id}").json())["status"] not in ("succeeded", "failed"):
        assert time.monotonic() < deadline, task
        time.sleep(0.1)
    assert task["status"] == "succeeded", task
    assert task["result"]["steps_executed"] == 10
    assert sorted(p["node"] for p in task["progress"]) == sorted(f"step{n}" for n in range(1, 11))
    assert {p["status"] for p in task["progress"]} == {"succeeded"}
    _refused(cluster.get("/api/v1/tasks/no-such-task"), 404, "task_id")
    _refused(cluster.post("/api/v1/tasks", json={"kind": "dag", "request": {"task": "t"}}), 422, "request.steps")
    _refused(cluster.post("/api/v1/tasks", json={"kind": "astrology", "request": {}}), 422, "kind")


def test_indexing_a_document_is_not_a_routed_task(cluster):
    before = _sample(_metrics(cluster), "themis_orchestrator_tasks_total", domain="finance")
    added = cluster.post("/api/v1/documents", json={"domain": "finance", "text": "A note on quarterly figures."})
    assert added.status_code == 200, added.text
    assert _sample(_metrics(cluster), "themis_orchestrator_tasks_total", domain="finance") == before


def test_metrics_count_what_happened(cluster):
    families = _metrics(cluster)
    allowed = {m.name.removesuffix("_total") for m in CATALOGUE.by_source(Source.ORCHESTRATOR)}
    assert set(families) <= allowed
    # Chains of 10 so far: three 10-step DAGs (parallel, sequential, task) and four analysis chains of depth 10.
    assert _sample(families, "themis_cot_steps_executed_total", reasoning_depth="10") == 3 * 10 + 4 * 10
    for number in range(1, 11):
        step = f"step{number}"
        start = _sample(families, "themis_reasoning_step_start_timestamp_seconds", step=step)
        assert _sample(families, "themis_reasoning_step_end_timestamp_seconds", step=step) >= start > 0
    # One real copy; the repeats were cache hits and move nothing.
    assert _sample(families, "themis_lora_transfers_total", source_shard="legal", destination_shard="risk") == 1
    assert _sample(families, "themis_federated_queries_total", shard="finance") >= 1
    assert _sample(families, "themis_orchestrator_tasks_total", domain="legal") > 0
    assert _sample(families, "themis_multi_perspective_consensus_latency_seconds_count") == 2


def test_failover_after_admin_shutdown(cluster):
    legal = cluster.urls["shard-legal"]
    shutdown = httpx.post(f"{legal}/admin/shutdown", headers={"authorization": f"Bearer {ADMIN_TOKEN}"})
    assert shutdown.status_code == 202
    assert cluster.stack.processes["shard-legal"].wait(30) == 0
    response = cluster.post("/api/v1/inference", json={"prompt": "Legal question", "domain": "legal",
                                                       "max_tokens": 100})  # fmt: skip
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["fallback_used"] is True
    assert result["backup_shard"] == result["shard"] == "finance"
    rag = cluster.post("/api/v1/rag", json={"query": "risk", "domains": ["legal", "finance"]}).json()
    assert (rag["participating_shards"], rag["missing_shards"]) == (["finance"], ["legal"])
    assert _sample(_metrics(cluster), "themis_orchestrator_failovers_total", domain="legal") >= 1


def test_sigterm_drains_and_exits_zero(cluster):
    orchestrator = cluster.stack.processes["orchestrator"]
    # Each step waits an injected second on the shard, so the DAG is surely in flight when SIGTERM comes:
    # a fast machine once finished 200 tokens a step before the signal.
    finance = cluster.urls["shard-finance"]
    admin = {"authorization": f"Bearer {ADMIN_TOKEN}"}
    assert httpx.put(f"{finance}/admin/faults", json={"latency_seconds": 1.0}, headers=admin).status_code == 200
    slow = seed_dag_request("sequential", lambda shard: "finance")
    answers: list[httpx.Response] = []
    worker = threading.Thread(target=lambda: answers.append(cluster.post("/api/v1/reasoning/dag", json=slow)))
    worker.start()
    try:
        time.sleep(0.5)
        orchestrator.terminate()
        worker.join(60)
        assert orchestrator.wait(30) == 0
    finally:
        assert httpx.delete(f"{finance}/admin/faults", headers=admin).status_code == 200
    # The request in flight when SIGTERM came was finished before the process left.
    assert [answer.status_code for answer in answers] == [200]
    assert answers[0].json()["latency_seconds"] > 1.0, "the DAG had finished before SIGTERM: nothing was drained"
