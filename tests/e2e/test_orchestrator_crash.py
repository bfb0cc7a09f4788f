"""Seed 003's crash test through the real orchestrator: real shards (the tiny model) behind a
counting proxy, a DAG task submitted to ``/api/v1/tasks``, the orchestrator killed with -9 while a
node is in flight and restarted; on SQLite and on PostgreSQL.

The proxy is a real HTTP hop in front of each shard: it counts every inference by the step its
prompt names and holds the first call of the node in flight, so the kill lands inside that node.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support.counting_server import CountingServer
from support.durable import DAG, KILLED_IN, OrchestratorReplica, wait_for_status
from support.runtime import model_cache, running_shard

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
