"""Seed 003's crash test through the real orchestrator: real shards (the tiny model) behind a
counting proxy, a DAG task submitted to ``/api/v1/tasks``, the orchestrator killed with -9 while a
node is in flight and restarted, on SQLite and on PostgreSQL; two replicas sharing PostgreSQL, one
killed and the other taking its tasks over. And what the orchestrator shows of DAGs and documents
that only a real shard behind it can tell: the step timeline, and analysis reading every chunk.

The proxy is a real HTTP hop in front of each shard: it counts every inference by the step its
prompt names and holds the first call of the node in flight, so the kill lands inside that node.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from observatory.orchestrator.durable.schema import tasks
from support.counting_server import CountingServer
from support.durable import DAG, KILLED_IN, OrchestratorReplica, wait_for_status
from support.runtime import model_cache, running_shard, scrape

pytestmark = pytest.mark.slow


def dag_request(depends_on: dict[str, list[str]], shard: str = "legal", prefix: str = "") -> dict:
    """A DAG task's request whose steps run on ``shard``, named ``prefix`` + node."""
    steps = [{"name": prefix + node, "depends_on": [prefix + need for need in needs], "shard": shard,
              "prompt": f"consider part {node}"} for node, needs in depends_on.items()]  # fmt: skip
    return {"task": "review the contract", "steps": steps, "max_tokens": 4}


@pytest.fixture(scope="module")
def shard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One real shard with the tiny model, shared by the module's tests."""
    cache = model_cache(tmp_path_factory)
    with running_shard(cache, tmp_path_factory.mktemp("shard")) as (_process, url):
        yield url


def test_a_killed_orchestrator_runs_each_node_once_after_its_last_saved_progress(
    shard: str, store_url: str, tmp_path: Path
) -> None:
    with CountingServer(hold_first=[KILLED_IN], upstream=shard) as proxy:
        orchestrator = OrchestratorReplica(store_url, {"legal": proxy.url}, tmp_path)
        orchestrator.start()
        try:
            task_id = orchestrator.submit("dag", dag_request(DAG))
            proxy.wait_for_held_call(KILLED_IN)
            at_kill = orchestrator.task(task_id)
            orchestrator.kill()
            calls_before = proxy.counts()
            proxy.release()
            orchestrator.start()
            done = wait_for_status(orchestrator, task_id, "succeeded")
            calls_after = proxy.counts() - calls_before
        finally:
            orchestrator.stop()

    saved = {step["node"] for step in at_kill["progress"] if step["status"] == "succeeded"}
    assert at_kill["status"] == "running"
    assert saved == {"a", "b"}  # the dependencies of the node in flight, nothing after it
    assert calls_before == {node: 1 for node in ("a", "b", KILLED_IN)}
    assert {node: calls_after[node] for node in DAG} == {node: 0 if node in saved else 1 for node in DAG}
    assert done["result"]["steps_executed"] == len(DAG)
    assert [step["status"] for step in done["progress"]] == ["succeeded"] * len(DAG)


def _owners(store_url: str) -> dict[str, str | None]:
    """Who holds each task, read from the store's own table."""
    engine = sa.create_engine(store_url)
    try:
        with engine.connect() as connection:
            return dict(connection.execute(sa.select(tasks.c.task_id, tasks.c.owner)).all())
    finally:
        engine.dispose()


def test_two_replicas_share_the_tasks_and_one_takes_over_from_the_other_killed(
    shard: str, postgres, tmp_path: Path
) -> None:
    database = postgres.create_database()
    store_url = postgres.url(database)
    # Five tasks held in their first node at once: each replica runs at most four, so both hold some.
    held = [f"t{i}-a" for i in range(5)]
    try:
        with CountingServer(hold_first=held, upstream=shard) as proxy:
            replicas = {name: OrchestratorReplica(store_url, {"legal": proxy.url}, tmp_path, owner=name)
                        for name in ("replica-1", "replica-2")}  # fmt: skip
            try:
                for replica in replicas.values():
                    replica.start()
                first = replicas["replica-1"]
                ids = [first.submit("dag", dag_request({"a": [], "b": ["a"]}, prefix=f"t{i}-")) for i in range(5)]
                for node in held:
                    proxy.wait_for_held_call(node)
                at_kill = _owners(store_url)
                killed = at_kill[ids[0]]
                survivor = next(replica for name, replica in replicas.items() if name != killed)
                replicas[killed].kill()
                proxy.release()
                # The survivor claims the killed replica's tasks once their lease (30 s) runs out.
                done = [wait_for_status(survivor, task_id, "succeeded", timeout=90) for task_id in ids]
                calls = proxy.counts()
            finally:
                for replica in replicas.values():
                    replica.stop()
        at_end = _owners(store_url)
    finally:
        postgres.drop_database(database)

    assert set(at_kill.values()) == {"replica-1", "replica-2"}
    assert set(at_end.values()) == {survivor.owner}
    taken_over = {i for i, task_id in enumerate(ids) if at_kill[task_id] == killed}
    expected = {f"t{i}-a": 2 if i in taken_over else 1 for i in range(5)} | {f"t{i}-b": 1 for i in range(5)}
    assert {node: calls[node] for node in expected} == expected
    assert all(task["result"]["steps_executed"] == 2 for task in done)


def test_the_step_timeline_shows_the_last_dag_only(shard: str, tmp_path: Path) -> None:
    orchestrator = OrchestratorReplica(f"sqlite:///{tmp_path / 'store.db'}", {"legal": shard}, tmp_path)
    orchestrator.start()
    try:
        for prefix in ("first-", "second-"):
            answer = httpx.post(f"{orchestrator.url}/api/v1/reasoning/dag", json=dag_request(DAG, prefix=prefix),
                                timeout=60)  # fmt: skip
            assert answer.status_code == 200, answer.text
        samples = scrape(orchestrator.url)
    finally:
        orchestrator.stop()
    for gauge in ("themis_reasoning_step_start_timestamp_seconds", "themis_reasoning_step_end_timestamp_seconds"):
        steps = {dict(labels)["step"] for name, labels in samples if name == gauge}
        assert steps == {f"second-{node}" for node in DAG}


def test_analysis_reads_every_chunk_of_the_document(shard: str, tmp_path: Path) -> None:
    paragraphs = ["Clause alpha sets the price.", "Clause beta sets the term.", "Clause gamma sets the law."]
    with CountingServer(upstream=shard) as proxy:
        orchestrator = OrchestratorReplica(f"sqlite:///{tmp_path / 'store.db'}", {"legal": proxy.url}, tmp_path,
                                           settings={"chunk_chars": 32})  # fmt: skip
        orchestrator.start()
        try:
            body = {"domain": "legal", "title": "terms", "text": "\n\n".join(paragraphs)}
            document = httpx.post(f"{orchestrator.url}/api/v1/documents", json=body, timeout=60)
            assert document.json()["chunks"] == len(paragraphs), document.text
            request = {"document_id": document.json()["document_id"], "analysis_types": ["legal"], "depth": 1,
                       "max_tokens": 4}  # fmt: skip
            answer = httpx.post(f"{orchestrator.url}/api/v1/analysis/distributed", json=request, timeout=60)
        finally:
            orchestrator.stop()
        prompts = proxy.prompts()
    assert answer.status_code == 200, answer.text
    assert answer.json()["steps_executed"] == len(paragraphs)  # one step per chunk, more than depth 1
    assert [sum(paragraph in prompt for prompt in prompts) for paragraph in paragraphs] == [1, 1, 1]
