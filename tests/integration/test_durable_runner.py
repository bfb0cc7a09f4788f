"""The task runner over a real store (SQLite and PostgreSQL): steps once, leases, takeover, resume."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from observatory.orchestrator.checkpoint import Checkpoint
from observatory.orchestrator.durable import (
    ConflictError,
    ConflictReason,
    Epoch,
    Handler,
    Status,
    Store,
    TaskRunner,
    TaskView,
)

FAST = {"poll_seconds": 0.02}


class Steps:
    """A handler running ``request["nodes"]`` in order as checkpointed steps, counting real runs."""

    def __init__(self, owner: str = "", block_at: str | None = None) -> None:
        self.calls: Counter[tuple[str, str]] = Counter()
        self.owner = owner
        self.block_at = block_at
        self.blocked = asyncio.Event()
        self.cancelled = False

    async def __call__(self, request: dict[str, Any], checkpoint: Checkpoint) -> dict[str, Any]:
        outputs = {}
        for node in request["nodes"]:
            outputs[node] = await checkpoint.run_step(node, lambda node=node: self._run(request["id"], node))
        return {"outputs": outputs}

    async def _run(self, task: str, node: str) -> dict[str, Any]:
        self.calls[task, node] += 1
        if node == self.block_at:
            self.blocked.set()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                self.cancelled = True
                raise
        return {"node": node, "by": self.owner}


async def finished(store: Store, task_id: str, timeout: float = 60.0) -> TaskView:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        view = await asyncio.to_thread(store.get_task, task_id)
        if view.status in (Status.SUCCEEDED, Status.FAILED):
            return view
        await asyncio.sleep(0.02)
    raise AssertionError(f"task {task_id} still {view.status} after {timeout} s: {view.progress}")


async def until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.02)


def run_one_task(store_url: str, handler: Handler, **options: Any) -> TaskView:
    """Run one task of ``handler`` by one runner until it finishes."""

    async def scenario() -> TaskView:
        store = Store.open(store_url)
        task_id = store.submit_task("dag", {})
        runner = TaskRunner(store, "A", {"dag": handler}, **FAST, **options)
        await runner.start()
        view = await finished(store, task_id)
        await runner.stop()
        store.close()
        return view

    return asyncio.run(scenario())


def submit(store: Store, task: str, nodes: list[str]) -> str:
    return store.submit_task("dag", {"id": task, "nodes": nodes})


def test_each_queued_task_runs_its_steps_and_records_its_result(store_url: str) -> None:
    depths: list[int] = []
    outcomes: list[tuple[str, Status]] = []
    handler = Steps("A")

    async def scenario() -> list[TaskView]:
        store = Store.open(store_url)
        ids = [submit(store, f"t{i}", ["a", "b"]) for i in range(3)]
        runner = TaskRunner(
            store,
            "A",
            {"dag": handler},
            concurrency=1,
            on_queue_depth=depths.append,
            on_finished=lambda kind, status: outcomes.append((kind, status)),
            **FAST,
        )
        await runner.start()
        views = [await finished(store, task_id) for task_id in ids]
        await until(lambda: depths[-1] == 0)
        await runner.stop()
        store.close()
        return views

    views = asyncio.run(scenario())
    for i, view in enumerate(views):
        assert view.status == Status.SUCCEEDED
        assert view.result == {"outputs": {"a": {"node": "a", "by": "A"}, "b": {"node": "b", "by": "A"}}}
        assert view.progress == [("a", Status.SUCCEEDED), ("b", Status.SUCCEEDED)]
        assert handler.calls[f"t{i}", "a"] == handler.calls[f"t{i}", "b"] == 1
    assert depths[0] == 2  # one of three claimed by the first poll, one at a time
    assert outcomes == [("dag", Status.SUCCEEDED)] * 3


def test_a_failing_step_fails_the_task_with_a_one_line_error(store_url: str) -> None:
    async def handler(request: dict[str, Any], checkpoint: Checkpoint) -> dict[str, Any]:
        await checkpoint.run_step("fine", lambda: asyncio.sleep(0, {"ok": True}))
        await checkpoint.run_step("unsaveable", lambda: asyncio.sleep(0, {"when": object()}))
        return {}

    outcomes: list[tuple[str, Status]] = []
    view = run_one_task(store_url, handler, on_finished=lambda kind, status: outcomes.append((kind, status)))
    assert outcomes == [("dag", Status.FAILED)]
    assert view.status == Status.FAILED
    assert view.error.startswith("TypeError: Object of type object is not JSON serializable")
    assert view.progress == [("fine", Status.SUCCEEDED), ("unsaveable", Status.FAILED)]


def test_two_runners_sharing_a_store_run_each_task_exactly_once(store_url: str) -> None:
    first, second = Steps("A"), Steps("B")

    async def scenario() -> list[TaskView]:
        stores = [Store.open(store_url), Store.open(store_url)]
        ids = [submit(stores[0], f"t{i}", ["only"]) for i in range(12)]
        runners = [
            TaskRunner(stores[0], "A", {"dag": first}, **FAST),
            TaskRunner(stores[1], "B", {"dag": second}, **FAST),
        ]
        await asyncio.gather(*(runner.start() for runner in runners))
        views = [await finished(stores[0], task_id) for task_id in ids]
        await asyncio.gather(*(runner.stop() for runner in runners))
        for store in stores:
            store.close()
        return views

    views = asyncio.run(scenario())
    assert all(view.status == Status.SUCCEEDED for view in views)
    runs = first.calls + second.calls
    assert runs == Counter({(f"t{i}", "only"): 1 for i in range(12)})
    assert {view.result["outputs"]["only"]["by"] for view in views} <= {"A", "B"}


def test_a_dead_owners_task_is_taken_over_after_its_lease_and_its_late_writes_are_refused(store_url: str) -> None:
    handler = Steps("B")

    async def scenario() -> TaskView:
        store = Store.open(store_url)
        task_id = submit(store, "t", ["a", "b", "c"])
        [dead] = store.claim("dead", ["dag"], lease_seconds=0.5)
        store.record_step(dead, "a", Status.SUCCEEDED, output={"node": "a", "by": "dead"})
        store.record_step(dead, "b", Status.RUNNING)
        runner = TaskRunner(store, "B", {"dag": handler}, lease_seconds=5.0, **FAST)
        await runner.start()
        view = await finished(store, task_id)
        await runner.stop()
        for late in (
            lambda: store.record_step(dead, "b", Status.SUCCEEDED, output={"late": True}),
            lambda: store.finish(dead, result={"late": True}),
        ):
            with pytest.raises(ConflictError) as refused:
                late()
            assert refused.value.reason == ConflictReason.STALE_EPOCH
        final = store.get_task(task_id)
        store.close()
        assert final == view
        return view

    view = asyncio.run(scenario())
    assert view.status == Status.SUCCEEDED
    assert view.result["outputs"] == {
        "a": {"node": "a", "by": "dead"},
        "b": {"node": "b", "by": "B"},
        "c": {"node": "c", "by": "B"},
    }
    assert handler.calls == Counter({("t", "b"): 1, ("t", "c"): 1})


def test_a_restarted_owner_resumes_its_task_at_once_and_fences_its_previous_process(store_url: str) -> None:
    handler = Steps("A")
    conflicts: list[ConflictReason] = []

    async def scenario() -> TaskView:
        store = Store.open(store_url)
        task_id = submit(store, "t", ["a", "b"])
        [previous] = store.claim("A", ["dag"], lease_seconds=600)
        store.record_step(previous, "a", Status.SUCCEEDED, output={"node": "a", "by": "previous"})
        runner = TaskRunner(store, "A", {"dag": handler}, on_conflict=conflicts.append, **FAST)
        await runner.start()
        view = await asyncio.wait_for(finished(store, task_id), 60)  # far sooner than the 600 s lease
        await runner.stop()
        with pytest.raises(ConflictError):
            store.record_step(previous, "b", Status.SUCCEEDED, output={})
        store.close()
        return view

    view = asyncio.run(scenario())
    assert view.result["outputs"]["a"] == {"node": "a", "by": "previous"}
    assert handler.calls == Counter({("t", "b"): 1})
    assert conflicts == []  # a saved step is read back, not refused


def test_stop_gives_running_tasks_back_and_the_next_owner_resumes_after_the_saved_steps(store_url: str) -> None:
    stopping, resuming = Steps("A", block_at="b"), Steps("B")

    async def scenario() -> tuple[TaskView, TaskView]:
        store = Store.open(store_url)
        task_id = submit(store, "t", ["a", "b", "c"])
        runner = TaskRunner(store, "A", {"dag": stopping}, **FAST)
        await runner.start()
        await asyncio.wait_for(stopping.blocked.wait(), 30)
        await runner.stop()
        given_back = store.get_task(task_id)
        runner = TaskRunner(store, "B", {"dag": resuming}, **FAST)
        await runner.start()
        view = await finished(store, task_id)
        await runner.stop()
        store.close()
        return given_back, view

    given_back, view = asyncio.run(scenario())
    assert stopping.cancelled
    assert given_back.status == Status.QUEUED
    assert given_back.progress == [("a", Status.SUCCEEDED), ("b", Status.RUNNING)]
    assert view.status == Status.SUCCEEDED
    assert resuming.calls == Counter({("t", "b"): 1, ("t", "c"): 1})


def test_a_runner_that_loses_its_lease_cancels_the_handler_and_counts_the_conflict(store_url: str) -> None:
    handler = Steps("A", block_at="b")
    conflicts: list[ConflictReason] = []

    async def scenario() -> TaskView:
        store = Store.open(store_url)
        task_id = submit(store, "t", ["a", "b"])
        runner = TaskRunner(store, "A", {"dag": handler}, lease_seconds=0.3, on_conflict=conflicts.append, **FAST)
        await runner.start()
        await asyncio.wait_for(handler.blocked.wait(), 30)
        # A new incarnation of owner A (e.g. a restarted replica with the same name) takes the task.
        [newer] = await asyncio.to_thread(store.resume, "A", ["dag"], lease_seconds=600)
        assert newer.epoch == Epoch(1, 1)
        await until(lambda: handler.cancelled)
        await runner.stop()
        view = store.get_task(task_id)
        store.close()
        return view

    view = asyncio.run(scenario())
    assert conflicts == [ConflictReason.STALE_EPOCH]
    assert view.status == Status.RUNNING  # the newer claim holds it now
    assert view.progress == [("a", Status.SUCCEEDED), ("b", Status.RUNNING)]


def test_a_step_completed_twice_at_once_keeps_the_first_output_for_both(store_url: str) -> None:
    conflicts: list[ConflictReason] = []
    runs = Counter()

    async def step() -> dict[str, Any]:
        runs["n"] += 1
        mine = runs["n"]
        await asyncio.sleep(0.05 * mine)  # the first run saves first
        return {"run": mine}

    async def handler(request: dict[str, Any], checkpoint: Checkpoint) -> dict[str, Any]:
        runs["handler"] += 1
        outputs = await asyncio.gather(checkpoint.run_step("n", step), checkpoint.run_step("n", step))
        return {"outputs": outputs}

    view = run_one_task(store_url, handler, on_conflict=conflicts.append)
    assert view.result == {"outputs": [{"run": 1}, {"run": 1}]}
    assert conflicts == [ConflictReason.STEP_COMPLETED]
    assert runs == Counter({"n": 2, "handler": 1})  # the handler went on with the saved output
