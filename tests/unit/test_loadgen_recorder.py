"""The recorder's summary: percentiles from HDR histograms, exact means, failures kept out of latency."""

from __future__ import annotations

import pytest

from observatory.loadgen.recorder import Outcome, Recorder


def test_means_are_exact_and_leave_failures_out() -> None:
    recorder = Recorder(late_after_s=0.01)
    # Two successes due at 0 s, sent at 0.1 s, done at 0.3 and 0.5 s; one failure that took 9 s.
    recorder.add(Outcome(0.0, 0.1, 0.3, "search", 200))
    recorder.add(Outcome(0.0, 0.1, 0.5, "inference", 200))
    recorder.add(Outcome(0.0, 0.0, 9.0, "inference", 503))
    recorder.finish()
    summary = recorder.summary(elapsed_s=10.0)
    assert summary["latency_ms"]["mean"] == pytest.approx(400.0)
    assert summary["uncorrected_latency_ms"]["mean"] == pytest.approx(300.0)
    assert summary["by_type"]["inference"]["mean"] == pytest.approx(500.0)
    assert summary["by_type"]["search"]["mean"] == pytest.approx(300.0)
    assert summary["latency_ms"]["max"] == pytest.approx(500.0, rel=1e-3)
    assert summary["failed"] == 1 and summary["sent_late"] == 2


def test_an_empty_run_summarises_to_zeros() -> None:
    recorder = Recorder(late_after_s=0.01)
    recorder.finish()
    summary = recorder.summary(elapsed_s=1.0)
    assert summary["latency_ms"] == {"p50": 0.0, "p95": 0.0, "p99": 0.0, "max": 0.0, "mean": 0.0}
    assert summary["by_type"] == {}
