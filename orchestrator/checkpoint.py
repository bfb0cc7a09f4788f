"""How a long operation saves its progress: each named step runs once and its output is kept."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol


class Checkpoint(Protocol):
    """Runs a named step of a task, or returns the output it saved when the step already completed."""

    async def run_step(self, node: str, step: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]: ...


class Ephemeral:
    """The checkpoint of a request served directly: every step runs, nothing is saved."""

    async def run_step(self, node: str, step: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
        return await step()
