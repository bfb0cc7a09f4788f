"""A durable-task runner process for crash tests: runs DAG tasks whose nodes call an HTTP endpoint.

Run as ``python durable_worker.py --store URL --owner NAME``; SIGTERM stops it cleanly.
A task's request is ``{"url": base, "nodes": [{"name", "depends_on"}]}``; nodes run level by
level, those of a level in parallel, each as one checkpointed step calling ``POST base/node/<name>``
with its dependencies' outputs.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from typing import Any

import httpx

from observatory.orchestrator.checkpoint import Checkpoint
from observatory.orchestrator.durable import Store, TaskRunner


def levels(depends_on: dict[str, list[str]]) -> list[list[str]]:
    """The nodes grouped so that each group depends only on earlier groups."""
    done: set[str] = set()
    groups = []
    while len(done) < len(depends_on):
        ready = sorted(node for node, needs in depends_on.items() if node not in done and set(needs) <= done)
        if not ready:
            raise ValueError("the DAG has a cycle")
        groups.append(ready)
        done.update(ready)
    return groups


async def run_dag(request: dict[str, Any], checkpoint: Checkpoint) -> dict[str, Any]:
    """Run every node of the request's DAG once, through the checkpoint."""
    depends_on = {node["name"]: node["depends_on"] for node in request["nodes"]}
    outputs: dict[str, Any] = {}
    async with httpx.AsyncClient(base_url=request["url"], timeout=300) as client:

        async def node_output(name: str) -> dict[str, Any]:
            async def call() -> dict[str, Any]:
                inputs = {need: outputs[need] for need in depends_on[name]}
                response = await client.post(f"/node/{name}", json={"inputs": inputs})
                response.raise_for_status()
                return response.json()

            return await checkpoint.run_step(name, call)

        for level in levels(depends_on):
            outputs.update(zip(level, await asyncio.gather(*map(node_output, level)), strict=True))
    return {"outputs": outputs}


async def serve(store_url: str, owner: str, lease_seconds: float) -> None:
    store = await asyncio.to_thread(Store.open, store_url)
    runner = TaskRunner(store, owner, {"dag": run_dag}, lease_seconds=lease_seconds, poll_seconds=0.05)
    stopping = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopping.set)
    await runner.start()
    await stopping.wait()
    await runner.stop()
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", required=True)
    parser.add_argument("--owner", required=True)
    parser.add_argument("--lease-seconds", type=float, default=120.0)
    args = parser.parse_args()
    asyncio.run(serve(args.store, args.owner, args.lease_seconds))


if __name__ == "__main__":
    main()
