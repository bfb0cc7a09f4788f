"""DAG validation and levels: seed 000's DAG, and every way a DAG can be refused."""

from __future__ import annotations

import pytest

from observatory.orchestrator.bench import SEED_DAG
from observatory.orchestrator.dag import levels, step_prompt
from observatory.orchestrator.schemas import DagStep
from observatory.runtime.errors import ShardError


def _steps(spec):
    return [DagStep(name=name, depends_on=list(deps), shard=shard) for name, deps, shard in spec]


def test_seed_dag_levels_follow_its_comments():
    grouped = [[step.name for step in level] for level in levels(_steps(SEED_DAG))]
    assert grouped == [["step1", "step2", "step3"], ["step4", "step5", "step6"], ["step7", "step8"], ["step9"],
                       ["step10"]]  # fmt: skip


def test_a_step_comes_after_its_deepest_dependency():
    grouped = levels(_steps([("late", ("a", "c"), "x"), ("a", (), "x"), ("b", ("a",), "x"), ("c", ("b",), "x")]))
    assert [[step.name for step in level] for level in grouped] == [["a"], ["b"], ["c"], ["late"]]


def _refusal(spec) -> ShardError:
    with pytest.raises(ShardError) as caught:
        levels(_steps(spec))
    assert caught.value.status == 422
    return caught.value


def test_cycle_is_refused_naming_the_steps():
    error = _refusal([("a", (), "x"), ("b", ("c",), "x"), ("c", ("b",), "x")])
    assert "cycle" in error.message and "b, c" in error.message
    assert error.field == "steps.1.depends_on"


def test_unknown_self_and_repeated_names_are_refused():
    assert _refusal([("a", ("ghost",), "x")]).field == "steps.0.depends_on"
    assert _refusal([("a", ("a",), "x")]).field == "steps.0.depends_on"
    assert _refusal([("a", (), "x"), ("a", (), "y")]).field == "steps.1.name"


def test_a_step_prompt_carries_its_dependencies_outputs():
    step = DagStep(name="s4", depends_on=["s1", "s2"], shard="legal", prompt="weigh the clauses")
    prompt = step_prompt("Analyse the contract", step, [("s1", "first output"), ("s2", "second output")])
    assert "Analyse the contract" in prompt and "weigh the clauses" in prompt
    assert "s1: first output" in prompt and "s2: second output" in prompt
