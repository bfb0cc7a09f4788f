"""Send-time plans and profiles of the load generator."""

from __future__ import annotations

import numpy as np
import pytest

from observatory.loadgen import schedule
from observatory.loadgen.profiles import ORCHESTRATOR, SHARD, Profile, ProfileError, detect_kind


def test_constant_rate_is_evenly_spaced_over_the_duration() -> None:
    plan = schedule.constant(200, 3)
    assert len(plan) == 600
    assert np.allclose(np.diff(plan), 1 / 200)
    assert plan[-1] < 3


def test_burst_cycle_peaks_at_fifteen_sevenths_of_the_base_in_the_middle_third() -> None:
    plan = schedule.burst_cycle(70, 3)
    per_second, _ = np.histogram(plan, bins=[0, 1, 2, 3])
    assert per_second.tolist() == [70, 150, 70]  # seed 001: 7k -> 15k -> 7k, scaled by 1/100


@pytest.mark.parametrize("name", schedule.TASK_PATTERNS)
def test_task_patterns_send_every_request_once_in_time_order(name: str) -> None:
    pattern = schedule.TaskPattern(name, 37, interval_s=(0.5, 1.0), batch=10, batch_range=(3, 6))
    plan = pattern.offsets(seed=1)
    assert len(plan) == 37 and plan[0] == 0 and np.all(np.diff(plan) >= 0)
    groups = np.unique(plan, return_counts=True)[1]
    gaps = np.diff(np.unique(plan))
    assert np.all((gaps >= 0.5) & (gaps <= 1.0))
    if name == "all-at-once":
        assert groups.tolist() == [37]
    elif name == "intervals":
        assert set(groups.tolist()) == {1}
    elif name == "bursts":
        assert groups.tolist() == [10, 10, 10, 7]
    else:
        assert all(3 <= size <= 6 for size in groups[:-1]) and groups[-1] <= 6


def test_a_profile_adapts_its_mix_to_the_kind_of_target() -> None:
    shard = Profile.bind("mixed", SHARD, adapters=("style",))
    orchestrator = Profile.bind("mixed", ORCHESTRATOR)
    assert set(shard.weights) == {"search", "inference", "lora_inference"}
    assert set(orchestrator.weights) == {"inference", "rag", "reasoning", "task"}
    assert orchestrator.call("rag", 3).path == "/api/v1/rag"
    assert orchestrator.call("inference", 1).body["domain"] == "finance"
    assert "domain" not in shard.call("inference", 1).body
    task = orchestrator.call("task", 0)
    assert task.task and task.path == "/api/v1/tasks" and task.body["kind"] == "dag"


def test_a_shard_without_adapters_gets_no_lora_requests_and_kinds_follow_the_weights() -> None:
    profile = Profile.bind("mixed", SHARD)
    kinds = profile.kinds(10000)
    assert set(kinds) == {"search", "inference"}
    share = kinds.count("search") / len(kinds)
    assert abs(share - 0.5 / 0.9) < 0.02  # the dropped share is spread over the rest
    assert profile.kinds(50) == Profile.bind("mixed", SHARD).kinds(50)  # repeatable from the seed


def test_the_reasoning_dag_depends_only_on_earlier_steps() -> None:
    body = Profile.bind("complex", ORCHESTRATOR).call("reasoning", 5).body
    seen: set[str] = set()
    for step in body["steps"]:
        assert set(step["depends_on"]) <= seen
        seen.add(step["name"])


def test_targets_are_told_apart_and_impossible_profiles_refused() -> None:
    assert detect_kind({"/api/v1/search", "/api/v1/inference"}) == SHARD
    assert detect_kind({"/api/v1/inference", "/api/v1/rag", "/api/v1/tasks"}) == ORCHESTRATOR
    with pytest.raises(ProfileError, match="neither"):
        detect_kind({"/metrics"})
    with pytest.raises(ProfileError, match="profile tasks runs against: orchestrator; this target is a shard"):
        Profile.bind("tasks", SHARD)
