"""Fault injection on a real in-process shard: token-protected, and each fault shows where alerts look."""

from __future__ import annotations

import pytest

from support.runtime import ADMIN_TOKEN, model_cache, settings, started_client

AUTH = {"authorization": f"Bearer {ADMIN_TOKEN}"}
INFERENCE = {"prompt": "Summarise the clause", "max_tokens": 2}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    with started_client(settings(model_cache(tmp_path_factory))) as client:
        yield client


@pytest.fixture(autouse=True)
def no_faults_afterwards(client):
    yield
    assert client.delete("/admin/faults", headers=AUTH).status_code == 200


def _sample(client, name: str, **labels: str) -> float:
    value = client.shard.metrics.registry.get_sample_value(name, {"shard": "legal", **labels})
    return value or 0.0


def _inference_count(client, status: str) -> float:
    return _sample(client, "themis_inference_requests_total", model=client.shard.metrics.model, status=status)


def test_faults_need_the_admin_token(client):
    for method in ("get", "put", "delete"):
        kwargs = {"json": {"unhealthy": True}} if method == "put" else {}
        assert getattr(client, method)("/admin/faults", **kwargs).status_code == 401
        wrong = {"authorization": "Bearer not-the-token-at-all"}
        assert getattr(client, method)("/admin/faults", headers=wrong, **kwargs).status_code == 401
    assert client.get("/admin/faults", headers=AUTH).json() == {
        "latency_seconds": 0.0,
        "error_rate": 0.0,
        "unhealthy": False,
    }


def test_faults_are_disabled_without_a_configured_token(tmp_path_factory):
    with started_client(settings(model_cache(tmp_path_factory), admin_token=None)) as client:
        response = client.put("/admin/faults", json={"unhealthy": True}, headers={"authorization": "Bearer anything"})
        assert response.status_code == 403
        assert client.get("/health").status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [({"error_rate": 1.5}, "error_rate"), ({"latency_seconds": -1}, "latency_seconds"), ({"slow": True}, "slow")],
)
def test_bad_fault_settings_are_refused_naming_the_field(client, body, field):
    response = client.put("/admin/faults", json=body, headers=AUTH)
    assert response.status_code == 422
    assert response.json()["field"] == field
    assert client.get("/admin/faults", headers=AUTH).json()["error_rate"] == 0.0


def test_an_error_rate_fails_that_share_of_requests_as_server_errors(client):
    before = {status: _inference_count(client, status) for status in ("success", "server_error")}
    assert client.put("/admin/faults", json={"error_rate": 0.5}, headers=AUTH).status_code == 200
    statuses = [client.post("/api/v1/inference", json=INFERENCE).status_code for _ in range(6)]
    assert sorted(statuses) == [200] * 3 + [500] * 3
    assert _inference_count(client, "server_error") - before["server_error"] == 3
    assert _inference_count(client, "success") - before["success"] == 3
    # Cleared, every request succeeds again.
    client.delete("/admin/faults", headers=AUTH)
    assert {client.post("/api/v1/inference", json=INFERENCE).status_code for _ in range(3)} == {200}


def test_every_request_fails_at_an_error_rate_of_one_and_the_answer_says_why(client):
    client.put("/admin/faults", json={"error_rate": 1}, headers=AUTH)
    inference = client.post("/api/v1/inference", json=INFERENCE)
    search = client.post("/api/v1/search", json={"vector": [0.1] * 64, "k": 1})
    assert (inference.status_code, search.status_code) == (500, 500)
    assert "injected fault" in inference.json()["error"]


def test_added_latency_shows_in_the_timings_and_the_latency_histogram(client):
    histogram = "themis_inference_latency_seconds_sum"
    model = client.shard.metrics.model
    before = _sample(client, histogram, model=model)
    client.put("/admin/faults", json={"latency_seconds": 0.4}, headers=AUTH)
    response = client.post("/api/v1/inference", json=INFERENCE)
    assert response.status_code == 200
    assert response.json()["timings"]["total"] >= 0.4
    assert _sample(client, histogram, model=model) - before >= 0.4


def test_unhealthy_fails_the_liveness_probe_and_the_health_gauge_until_cleared(client):
    client.put("/admin/faults", json={"unhealthy": True}, headers=AUTH)
    health = client.get("/health")
    assert health.status_code == 503 and health.json()["status"] == "unhealthy"
    assert _sample(client, "themis_shard_health_status") == 0.0
    # Unhealthy is about the shard's health, not its traffic: requests are still served.
    assert client.post("/api/v1/inference", json=INFERENCE).status_code == 200
    client.delete("/admin/faults", headers=AUTH)
    assert client.get("/health").status_code == 200
    assert _sample(client, "themis_shard_health_status") == 1.0
