"""Seed 003's crash test: kill -9 the process running a DAG task, restart it, every node runs once more at most."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from support.counting_server import CountingServer
from support.durable import DAG, KILLED_IN, DurableService, WorkerService, wait_for_status

# How each process under test is started on a store (the orchestrator's own test: test_orchestrator_crash.py).
SERVICES: dict[str, Callable[[str, Path], DurableService]] = {"task-runner-process": WorkerService}


@pytest.fixture(params=sorted(SERVICES))
def service(request: pytest.FixtureRequest, store_url: str, tmp_path: Path) -> Iterator[DurableService]:
    started = SERVICES[request.param](store_url, tmp_path)
    yield started
    started.stop()


@pytest.mark.slow
def test_a_killed_process_runs_each_node_once_after_its_last_saved_progress(service: DurableService) -> None:
    with CountingServer(hold_first=[KILLED_IN]) as nodes:
        task_id = service.submit_dag(DAG, nodes.url)
        service.start()
        nodes.wait_for_held_call(KILLED_IN)
        at_kill = service.task(task_id)
        service.kill()
        calls_before = nodes.counts()
        nodes.release()
        service.start()
        done = wait_for_status(service, task_id, "succeeded")
        calls_after = nodes.counts() - calls_before

    saved = {step["node"] for step in at_kill["progress"] if step["status"] == "succeeded"}
    assert at_kill["status"] == "running"
    assert saved == {"a", "b"}  # the dependencies of the node in flight, nothing after it
    assert {node: calls_after[node] for node in DAG} == {node: 0 if node in saved else 1 for node in DAG}
    assert calls_before[KILLED_IN] == 1
    outputs = done["result"]["outputs"]
    assert {node: outputs[node]["call"] for node in DAG} == {node: 1 for node in DAG} | {KILLED_IN: 2}
    assert outputs["f"]["inputs"] == ["d", "e"]
    assert [step["status"] for step in done["progress"]] == ["succeeded"] * len(DAG)
