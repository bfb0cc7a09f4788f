"""Which shard answers: failover on refusal, 5xx, 429, timeouts and unreachable shards, never on a 4xx.

The shards here are httpx transports answering by URL, so each failure mode can be chosen per shard;
the integration tests fail over from a real shard shut down through /admin/shutdown.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from observatory.orchestrator.service import Orchestrator
from observatory.orchestrator.settings import OrchestratorSettings
from observatory.orchestrator.shards import NoShardAnsweredError, ShardPool
from observatory.runtime.errors import ShardError

SETTINGS = OrchestratorSettings(
    domains={
        "legal": {"primary": "http://legal:1", "backups": ["http://legal-b:1"]},
        "finance": {"primary": "http://finance:1"},
    },
    timeouts={"retry_down_after": 60},
)


def _pool(behaviour: dict[str, object]) -> ShardPool:
    """A pool whose shard at host ``h`` answers ``behaviour[h]``: a status, or an exception to raise."""

    def answer(request: httpx.Request) -> httpx.Response:
        outcome = behaviour[request.url.host]
        if isinstance(outcome, Exception):
            raise outcome
        body = {"text": request.url.host} if outcome < 400 else {"error": "refused", "field": "prompt"}
        return httpx.Response(outcome, json=body)

    return ShardPool(SETTINGS, httpx.AsyncClient(transport=httpx.MockTransport(answer)))


def _infer(pool: ShardPool, domain: str | None = "legal"):
    orchestrator = Orchestrator(SETTINGS, store=None, pool=pool)
    return asyncio.run(orchestrator.route(domain, pool.candidates(domain), "POST", "/api/v1/inference", json={}))


@pytest.mark.parametrize(
    "failure",
    [503, 500, 429, httpx.ConnectError("refused"), httpx.ReadTimeout("slow")],
    ids=["503", "500", "429", "refused", "timeout"],
)
def test_a_failing_primary_hands_over_to_its_backup(failure):
    pool = _pool({"legal": failure, "legal-b": 200, "finance": 200})
    answer, fallback = _infer(pool)
    assert (answer.shard.name, fallback) == ("legal-backup-1", True)


def test_without_backups_any_healthy_shard_answers():
    answer, fallback = _infer(_pool({"legal": 503, "legal-b": 503, "finance": 200}))
    assert (answer.shard.name, fallback) == ("finance", True)


def test_a_healthy_primary_answers_itself():
    answer, fallback = _infer(_pool({"legal": 200, "legal-b": 200, "finance": 200}))
    assert (answer.shard.name, fallback) == ("legal", False)


def test_a_client_error_is_relayed_not_retried():
    with pytest.raises(ShardError) as caught:
        _infer(_pool({"legal": 422, "legal-b": 200, "finance": 200}))
    assert (caught.value.status, caught.value.field) == (422, "prompt")


def test_when_no_shard_answers_the_client_gets_503_naming_each_failure():
    pool = _pool({"legal": 503, "legal-b": httpx.ReadTimeout("slow"), "finance": httpx.ConnectError("refused")})
    with pytest.raises(ShardError) as caught:
        _infer(pool)
    assert caught.value.status == 503
    assert "legal: answered 503" in caught.value.message
    assert "legal-backup-1: timed out" in caught.value.message
    assert "finance: unreachable" in caught.value.message


def test_a_shard_that_failed_is_asked_last_until_it_answers_again():
    behaviour = {"legal": 503, "legal-b": 200, "finance": 200}
    pool = _pool(behaviour)
    _infer(pool)
    assert [s.name for s in pool.candidates("legal")] == ["legal-backup-1", "finance", "legal"]
    behaviour.update({"legal-b": 503, "finance": 503, "legal": 200})
    answer = asyncio.run(pool.first_answer(pool.candidates("legal"), "GET", "/"))
    assert answer.shard.name == "legal"
    assert "legal" not in pool.down()


def test_all_failed_raises_with_reasons():
    pool = _pool({"legal": 429, "legal-b": 429, "finance": 429})
    with pytest.raises(NoShardAnsweredError) as caught:
        asyncio.run(pool.first_answer(pool.candidates(None), "GET", "/"))
    assert set(caught.value.failures.values()) == {"answered 429"}


def test_dag_steps_for_any_shard_take_turns_over_the_shards():
    # Checking a DAG's steps must not take turns of the round robin, or with two shards every step lands on one.
    from observatory.orchestrator.checkpoint import Ephemeral
    from observatory.orchestrator.dag import run_dag
    from observatory.orchestrator.schemas import DagRequest

    settings = OrchestratorSettings(domains={"legal": {"primary": "http://legal:1"},
                                             "finance": {"primary": "http://finance:1"}})  # fmt: skip
    pool = ShardPool(settings, httpx.AsyncClient(transport=httpx.MockTransport(
        lambda request: httpx.Response(200, json={"text": request.url.host}))))  # fmt: skip
    orchestrator = Orchestrator(settings, store=None, pool=pool)
    # Seed 000's DAG has one step for any shard: DAG after DAG, it goes to each shard in turn.
    request = DagRequest(task="t", steps=[{"name": "any", "depends_on": [], "shard": "orchestrator"}])
    shards = [asyncio.run(run_dag(orchestrator, request, Ephemeral()))["steps"][0]["shard"] for _ in range(4)]
    assert sorted(shards) == ["finance", "finance", "legal", "legal"]


def test_a_shard_without_room_for_an_adapter_hands_over_without_being_marked_down():
    pool = _pool({"legal": 507, "legal-b": 200, "finance": 200})
    answer, fallback = _infer(pool)
    assert (answer.shard.name, fallback) == ("legal-backup-1", True)
    assert pool.down() == set()  # it answered: it has no room, it is not down


def test_when_no_shard_has_room_the_client_gets_the_507():
    with pytest.raises(ShardError) as caught:
        _infer(_pool({"legal": 507, "legal-b": 507, "finance": httpx.ConnectError("refused")}))
    assert (caught.value.status, caught.value.field) == (507, "prompt")
