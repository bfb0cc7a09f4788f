"""``observatory-loadgen analyze`` on the results of a real run."""

from __future__ import annotations

from pathlib import Path

import pytest

from observatory.loadgen.analyze import PLOTS
from support.loadgen import loadgen, stall_server

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def run_results(tmp_path_factory) -> Path:
    """Results of a short run of seed 003's intervals pattern on a task API where every tenth task fails."""
    workdir = tmp_path_factory.mktemp("analysis")
    output = workdir / "run.json"
    with stall_server(workdir, stall_at=0, stall_s=0, task_s=0.1) as base:
        run = loadgen("run", "--target", base, "--pattern", "intervals", "--requests", "30", "--interval",
                      "0.02,0.06", "--poll-interval", "0.05", "--p99-under-ms", "5000", "--no-progress",
                      "--output", str(output))  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    return output


def test_analyze_writes_every_plot_and_the_report(run_results: Path, tmp_path: Path) -> None:
    out = tmp_path / "analysis"
    result = loadgen("analyze", str(run_results), "--out", str(out))
    assert result.returncode == 0, result.stderr
    for name in PLOTS:
        png = (out / f"{name}.png").read_bytes()
        assert png.startswith(PNG_MAGIC) and len(png) > 5000, name
    report = (out / "report.md").read_text()
    assert "| p99 latency |" in report and "< 5000 ✓" in report  # the run's own target, met
    assert "| sustained QPS |" in report and "≥ 7000 ✗" in report  # seed 001's target, for reference
    assert "| error rate | 10.00 % |" in report  # 3 of 30 tasks fail
    assert all(f"({name}.png)" in report for name in PLOTS)
    assert result.stdout.splitlines() == [str(out / f"{name}.png") for name in PLOTS] + [str(out / "report.md")]


def test_analyze_defaults_its_folder_beside_the_results(run_results: Path) -> None:
    result = loadgen("analyze", str(run_results))
    assert result.returncode == 0
    assert (run_results.parent / "run-analysis" / "report.md").is_file()


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "cannot read"), ("{", "is not JSON"), ('{"figures": {}}', "is not a results file"),
     ('{"format": "observatory-loadgen/1", "requests": []}', "records no requests")],
)  # fmt: skip
def test_analyze_refuses_what_it_cannot_read_in_one_line(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "results.json"
    if content is not None:
        path.write_text(content)
    result = loadgen("analyze", str(path), "--out", str(tmp_path / "out"))
    assert result.returncode == 1 and message in result.stderr and result.stderr.count("\n") == 1
