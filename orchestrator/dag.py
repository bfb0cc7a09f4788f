"""Distributed chain-of-thought over a DAG: validated, levelled, and run level by level.

A step's level is one more than its deepest dependency's; the steps of one level depend only on
earlier levels, so they run at once (``parallel``) or one after another (``sequential``). A step's
prompt carries the task, its own instruction and its dependencies' outputs. Every step runs through
the task's :class:`Checkpoint` under its own name, so a resumed task skips the steps already done.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from observatory.orchestrator.checkpoint import Checkpoint
from observatory.orchestrator.schemas import DagRequest, DagResponse, DagStep, StepResult
from observatory.orchestrator.service import Orchestrator
from observatory.runtime.errors import input_error


def levels(steps: Sequence[DagStep]) -> list[list[DagStep]]:
    """The steps grouped by level, in request order within a level; 422 naming the step at fault for a
    repeated name, an unknown or self dependency, or a cycle."""
    position: dict[str, int] = {}
    for index, step in enumerate(steps):
        if step.name in position:
            raise input_error(f"steps.{index}.name", f"steps.{index}.name: {step.name!r} is used by another step")
        position[step.name] = index
    for index, step in enumerate(steps):
        for dependency in step.depends_on:
            if dependency not in position:
                where = f"steps.{index}.depends_on"
                raise input_error(where, f"{where}: no step named {dependency!r}")
            if dependency == step.name:
                raise input_error(f"steps.{index}.depends_on", f"steps.{index}.depends_on: a step cannot need itself")
    level: dict[str, int] = {}
    remaining = list(steps)
    while remaining:
        ready = [step for step in remaining if all(d in level for d in step.depends_on)]
        if not ready:
            cycle = ", ".join(step.name for step in remaining)
            index = position[remaining[0].name]
            raise input_error(f"steps.{index}.depends_on", f"steps: the dependencies form a cycle among {cycle}")
        for step in ready:
            level[step.name] = 1 + max((level[d] for d in step.depends_on), default=-1)
        remaining = [step for step in remaining if step.name not in level]
    grouped: list[list[DagStep]] = [[] for _ in range(max(level.values()) + 1)]
    for step in steps:
        grouped[level[step.name]].append(step)
    return grouped


def step_prompt(task: str, step: DagStep, inputs: Sequence[tuple[str, str]]) -> str:
    """The prompt of ``step``: the task, the step's instruction, then each dependency's output."""
    lines = [f"Task: {task}", f"Step {step.name}: {step.prompt or 'reason about the task'}"]
    lines += [f"Input from {name}: {output}" for name, output in inputs]
    return "\n".join(lines)


async def run_dag(orchestrator: Orchestrator, request: DagRequest, checkpoint: Checkpoint) -> dict[str, Any]:
    """Run ``request``'s DAG and return :class:`DagResponse` as a dict."""
    grouped = levels(request.steps)
    for index, step in enumerate(request.steps):
        orchestrator.check_target(step.shard, f"steps.{index}.shard")
    field = {step.name: f"steps.{index}.shard" for index, step in enumerate(request.steps)}
    outputs: dict[str, dict[str, Any]] = {}
    metrics = orchestrator.metrics

    async def run(step: DagStep) -> None:
        async def work() -> dict[str, Any]:
            inputs = [(name, outputs[name]["output"]) for name in step.depends_on]
            started = time.time()
            generated = await orchestrator.generate(
                step.shard, step_prompt(request.task, step, inputs), request.max_tokens, field[step.name]
            )
            return StepResult(name=step.name, shard=generated.shard.name, started=started, ended=time.time(),
                              output=generated.text).model_dump()  # fmt: skip

        result = await checkpoint.run_step(step.name, work)
        for name in step.depends_on:
            metrics.relayed(outputs[name]["shard"], result["shard"], len(outputs[name]["output"].encode()))
        metrics.step(step.name, result["started"], result["ended"])
        outputs[step.name] = result

    metrics.dag_started()
    started = time.perf_counter()
    ok = False
    try:
        for level in grouped:
            if request.mode == "parallel":
                await asyncio.gather(*(run(step) for step in level))
            else:
                for step in level:
                    await run(step)
        ok = True
    finally:
        seconds = time.perf_counter() - started
        metrics.reasoning("dag", len(request.steps), len(request.steps), len(grouped), request.mode, seconds, ok)
    steps = [StepResult(**outputs[step.name]) for level in grouped for step in level]
    sequential = sum(step.ended - step.started for step in steps)
    return DagResponse(
        success=True,
        steps_executed=len(steps),
        levels=len(grouped),
        latency_seconds=seconds,
        sequential_latency_seconds=sequential,
        speedup=sequential / seconds if seconds > 0 else 0.0,
        steps=steps,
    ).model_dump()
