"""The VRAM budget follows seed 000's VRAMLicenseManager test and seed 002's GPU profiles."""

import pytest

from observatory.runtime.health import ShardState, is_ready, overall_status
from observatory.runtime.vram import GIB, GPU_PROFILES, VRAMLicenseManager, VRAMLimitError


def test_enforces_limit_as_the_seed_specifies():
    manager = VRAMLicenseManager(24 * GIB)
    assert manager.can_use(10 * GIB)
    assert manager.can_use(24 * GIB)  # exactly at the limit
    assert not manager.can_use(40 * GIB)
    with pytest.raises(VRAMLimitError):
        manager.enforce(40 * GIB)


def test_reservations_count_against_the_budget_until_released():
    manager = VRAMLicenseManager(GPU_PROFILES["gtx_1080"])
    manager.reserve("model", 6 * GIB)
    assert not manager.can_use(2 * GIB)
    with pytest.raises(VRAMLimitError) as refused:
        manager.reserve("adapter:big", 2 * GIB)
    assert refused.value.reserved == 6 * GIB
    assert manager.reserved_bytes == 6 * GIB  # a refused reservation takes nothing
    manager.release("model")
    manager.reserve("adapter:big", 2 * GIB)
    assert manager.reserved_bytes == 2 * GIB


def test_gpu_profiles_from_seed_002():
    assert GPU_PROFILES["gtx_1080"] == 7 * GIB
    assert GPU_PROFILES["rtx_4070"] == int(10.5 * GIB)


def _state(**changes) -> ShardState:
    values = {"gpu_available": False, "gpu_required": False, "model_loaded": True, "vram_reserved_bytes": 0,
              "vram_limit_bytes": 100, "active_requests": 0, "capacity": 10}  # fmt: skip
    return ShardState(**(values | changes))


@pytest.mark.parametrize(
    ("changes", "status"),
    [
        ({}, "healthy"),
        ({"gpu_required": True}, "unhealthy"),
        ({"gpu_required": True, "gpu_available": True}, "healthy"),
        ({"model_loaded": False}, "unhealthy"),
        ({"vram_reserved_bytes": 96}, "degraded"),
        ({"vram_reserved_bytes": 95}, "healthy"),
        ({"active_requests": 10}, "degraded"),
        ({"search_failed": True}, "unhealthy"),
        ({"active_requests": 9}, "healthy"),
    ],
)
def test_health_rules_of_the_seed(changes, status):
    assert overall_status(_state(**changes)) == status


def test_ready_needs_the_model_search_and_room_in_line():
    assert is_ready(_state(active_requests=9))
    assert is_ready(_state(active_requests=10))  # every slot taken, but there is room in line
    assert not is_ready(_state(active_requests=10, queue_full=True))
    assert not is_ready(_state(search_failed=True))
    assert not is_ready(_state(model_loaded=False))
