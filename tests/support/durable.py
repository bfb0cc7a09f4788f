"""The process under test of the durable-task crash test, behind one small interface.

The crash test talks to a :class:`DurableService`: start it, submit a DAG whose nodes call a
counting endpoint, read the task, kill -9 it, start it again. :class:`WorkerService` is a bare
task-runner process over the store; a service that runs the same tasks behind HTTP (the
orchestrator's ``/api/v1/tasks``) fits the same interface.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import httpx

from observatory.orchestrator.durable import Store
from support.processes import RunningProcess, free_port, wait_for_http

WORKER = Path(__file__).with_name("durable_worker.py")

# Two roots, a join, a fan-out and a final join: c is the node in flight when the process dies.
DAG = {"a": [], "b": [], "c": ["a", "b"], "d": ["c"], "e": ["c"], "f": ["d", "e"]}
KILLED_IN = "c"


class DurableService(Protocol):
    """A process that runs durable DAG tasks from a store it is configured with."""

    def start(self) -> None:
        """Start the process (again)."""

    def kill(self) -> None:
        """kill -9 it: no clean-up, whatever it held stays held."""

    def stop(self) -> None:
        """Stop it if it runs."""

    def submit_dag(self, depends_on: Mapping[str, Sequence[str]], node_url: str) -> str:
        """Submit a task running each node once, calling ``POST node_url/node/<name>``; its id."""

    def task(self, task_id: str) -> dict[str, Any]:
        """The task as ``GET /api/v1/tasks/{id}`` shows it: ``{status, result, progress: [{node, status}]}``."""


class WorkerService:
    """``durable_worker.py`` as the process under test, with the test reading the store directly."""

    def __init__(self, store_url: str, workdir: Path, owner: str = "replica-1") -> None:
        self._store_url = store_url
        self._workdir = workdir
        self._owner = owner
        self._store = Store.open(store_url)
        self._process: RunningProcess | None = None
        self._starts = 0

    def start(self) -> None:
        self._starts += 1
        argv = [sys.executable, str(WORKER), "--store", self._store_url, "--owner", self._owner]
        self._process = RunningProcess(argv, self._workdir / f"worker-{self._starts}.log")

    def kill(self) -> None:
        assert self._process is not None
        self._process.kill()

    def stop(self) -> None:
        if self._process is not None:
            assert self._process.stop() in (0, -9), self._process.log()
        self._store.close()

    def submit_dag(self, depends_on: Mapping[str, Sequence[str]], node_url: str) -> str:
        nodes = [{"name": name, "depends_on": list(needs)} for name, needs in depends_on.items()]
        return self._store.submit_task("dag", {"url": node_url, "nodes": nodes})

    def task(self, task_id: str) -> dict[str, Any]:
        if self._process is not None and self._process.process.poll() not in (None, -9):
            raise AssertionError(f"the worker exited: {self._process.log()[-2000:]}")
        view = self._store.get_task(task_id)
        return {
            "status": view.status.value,
            "result": view.result,
            "progress": [{"node": node, "status": status.value} for node, status in view.progress],
        }


def wait_for_status(service: DurableService, task_id: str, status: str, timeout: float = 60.0) -> dict[str, Any]:
    """Poll the task until it has ``status``; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while (task := service.task(task_id))["status"] != status:
        if time.monotonic() > deadline:
            raise AssertionError(f"task {task_id} not {status} after {timeout} s: {task}")
        time.sleep(0.05)
    return task


class OrchestratorReplica:
    """A real ``observatory-orchestrator`` process over a store, restartable under the same owner.

    Its shards are given as domain -> base URL, ``settings`` add to its configuration; tasks go
    through its HTTP tasks API.
    """

    def __init__(
        self,
        store_url: str,
        shards: Mapping[str, str],
        workdir: Path,
        owner: str = "replica-1",
        settings: Mapping[str, Any] | None = None,
    ) -> None:
        self._workdir = workdir
        self.owner = owner
        self._port = free_port()
        self.url = f"http://127.0.0.1:{self._port}"
        self._config = workdir / f"orchestrator-{owner}.json"
        domains = {domain: {"primary": url} for domain, url in shards.items()}
        config = {"domains": domains, "store_url": store_url, "owner": owner} | dict(settings or {})
        self._config.write_text(json.dumps(config))
        self._process: RunningProcess | None = None
        self._starts = 0

    def start(self) -> None:
        """Start the process (again, on the same port) and wait until it is ready."""
        self._starts += 1
        script = Path(sys.executable).with_name("observatory-orchestrator")
        argv = [str(script), "--config", str(self._config), "--port", str(self._port), "--log-level", "warning"]
        self._process = RunningProcess(argv, self._workdir / f"{self.owner}-{self._starts}.log")
        wait_for_http(f"{self.url}/ready", timeout=60, process=self._process.process, ready_only=True)

    def kill(self) -> None:
        """kill -9 it."""
        assert self._process is not None
        self._process.kill()

    def stop(self) -> None:
        """Stop it (SIGTERM) if it runs."""
        if self._process is not None:
            assert self._process.stop() in (0, -9), self._process.log()

    def submit(self, kind: str, request: Mapping[str, Any]) -> str:
        """``POST /api/v1/tasks``; the task id."""
        response = httpx.post(f"{self.url}/api/v1/tasks", json={"kind": kind, "request": request}, timeout=30)
        assert response.status_code == 202, response.text
        return response.json()["task_id"]

    def task(self, task_id: str) -> dict[str, Any]:
        """``GET /api/v1/tasks/{id}``."""
        response = httpx.get(f"{self.url}/api/v1/tasks/{task_id}", timeout=30)
        assert response.status_code == 200, response.text
        return response.json()
