"""Seed 000's ``HealthCheckEndpoint`` rules as pure functions of the shard's state."""

from __future__ import annotations

from dataclasses import dataclass

HEALTH_SCORES = {"healthy": 1.0, "degraded": 0.5, "unhealthy": 0.0}


@dataclass(frozen=True)
class ShardState:
    """What the probes look at."""

    gpu_available: bool
    gpu_required: bool
    model_loaded: bool
    vram_reserved_bytes: int
    vram_limit_bytes: int
    active_requests: int
    capacity: int
    queue_full: bool = False
    search_failed: bool = False


def overall_status(state: ShardState) -> str:
    """healthy, degraded or unhealthy, in the seed's order of checks."""
    if state.gpu_required and not state.gpu_available:
        return "unhealthy"
    if not state.model_loaded or state.search_failed:
        return "unhealthy"
    if state.vram_reserved_bytes > state.vram_limit_bytes * 0.95:
        return "degraded"
    if state.active_requests > state.capacity * 0.9:
        return "degraded"
    return "healthy"


def is_ready(state: ShardState) -> bool:
    """Ready: the model is loaded, search works and the admission queue has room.

    The seed's rule (a request slot free) predates the queue: a request that finds every slot taken
    now waits in line, so the shard stops being ready only when the line is full too.
    """
    return state.model_loaded and not state.search_failed and not state.queue_full
