"""``observatory-loadgen run``: plan a run, send it, write every request and the summary as JSON."""

from __future__ import annotations

import asyncio
import datetime
import json
import os
import platform
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import uvloop

from observatory.loadgen import schedule
from observatory.loadgen.client import Progress, RunOptions, describe, first_model, run_plan
from observatory.loadgen.figures import load_test_figures
from observatory.loadgen.profiles import ANY, PROFILES, Profile, detect_kind
from observatory.loadgen.recorder import Recorder
from observatory.loadgen.targets import Check, Targets, checks

FORMAT = "observatory-loadgen/1"


@dataclass(frozen=True)
class RunPlan:
    """What to send: target, profile and the send-time plan (constant rate, burst cycle or a seed 003 pattern)."""

    target: str
    profile: str
    qps: float
    duration_s: float
    burst: bool = False
    pattern: schedule.TaskPattern | None = None
    seed: int = 0
    # The openai profile: the model asked for (empty: the first the target lists), answer length, objectives.
    model: str = ""
    max_tokens: int = 32
    slo: tuple[tuple[str, float], ...] = ()

    def offsets(self) -> np.ndarray:
        """The due time of every request, in seconds from the start."""
        if self.pattern is not None:
            return self.pattern.offsets(self.seed)
        if self.burst:
            return schedule.burst_cycle(self.qps, self.duration_s)
        return schedule.constant(self.qps, self.duration_s)


def machine() -> dict:
    """The machine a figure was measured on."""
    return {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version()}


async def bind_profile(plan: RunPlan, timeout_s: float) -> Profile:
    """The profile adapted to the target: its kind (shard or orchestrator) and the adapters it offers."""
    if plan.profile == "openai":
        model = plan.model or await first_model(plan.target, timeout_s)
        return Profile.bind(plan.profile, ANY, seed=plan.seed, model=model, max_tokens=plan.max_tokens)
    if ANY in PROFILES[plan.profile]:
        return Profile.bind(plan.profile, ANY, seed=plan.seed)
    paths, adapters = await describe(plan.target, timeout_s)
    return Profile.bind(plan.profile, detect_kind(paths), adapters, plan.seed)


async def execute_run(plan: RunPlan, options: RunOptions, progress: Progress | None = None) -> tuple[dict, Profile]:
    """Run the plan against its target; the summary, per-request records and histograms as a JSON document."""
    profile = await bind_profile(plan, options.timeout_s)
    offsets = plan.offsets()
    kinds = profile.kinds(len(offsets))
    recorder = Recorder(options.late_after_s, dict(plan.slo))
    started_at = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    elapsed = await run_plan(
        plan.target, offsets, lambda n: profile.call(kinds[n], n), options, recorder, progress, profile.setup_calls()
    )
    recorder.finish()
    summary = recorder.summary(elapsed)
    config = asdict(plan) | asdict(options)
    document = {
        "format": FORMAT,
        "started_at": started_at,
        "machine": machine(),
        "config": config | {"target_kind": profile.target_kind, "weights": profile.weights},
        "summary": summary,
        "figures": {name: figure.as_dict() for name, figure in load_test_figures(summary).items()},
        "histograms": recorder.histograms(),
        "requests": recorder.requests(),
    }
    return document, profile


def with_targets(document: dict, targets: Targets) -> list[Check]:
    """Check the run against ``targets`` and keep both in the document."""
    results = checks(targets, document["summary"])
    document["targets"] = targets.as_dict()
    document["validation"] = [asdict(check) | {"passed": check.passed} for check in results]
    return results


def write(document: dict, path: Path) -> None:
    """Write the results JSON (creating its folder)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, separators=(",", ":")) + "\n")


def run(plan: RunPlan, options: RunOptions, progress: Progress | None = None) -> tuple[dict, Profile]:
    """:func:`execute_run` on a fresh uvloop event loop (libuv's loop costs less per request than asyncio's own)."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(execute_run(plan, options, progress))
