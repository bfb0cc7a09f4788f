"""The ``make bench`` summary: every directed figure of every results file, in the shape the gate reads."""

from __future__ import annotations

import json
from pathlib import Path

from observatory.loadgen import bench_summary
from observatory.loadgen.compare import compare, load


def _results(folder: Path) -> None:
    folder.mkdir()
    common = {"machine": {}, "figures": {"loadgen_to_wrk_ratio": {"value": 0.8, "unit": "ratio", "better": "higher"}}}
    (folder / "loadgen-ceiling.json").write_text(json.dumps(common))
    legacy = {"search": {"service_queries_per_second": 600.0, "vectors": 2000}}
    (folder / "runtime.json").write_text(json.dumps(legacy))


def test_summary_names_figures_by_file_and_drops_undirected_numbers(tmp_path: Path) -> None:
    folder = tmp_path / "bench-results"
    _results(folder)
    assert bench_summary.main([str(folder)]) == 0
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["figures"] == {
        "loadgen-ceiling.loadgen_to_wrk_ratio": {"value": 0.8, "unit": "ratio", "better": "higher"},
        "runtime.search.service_queries_per_second": {"value": 600.0, "unit": "", "better": "higher"},
    }
    assert "| runtime.search.service_queries_per_second | 600 |  | higher |" in (folder / "summary.md").read_text()
    # A second summary ignores the first one, and the gate passes it against itself.
    assert bench_summary.main([str(folder)]) == 0
    again = load(folder / "summary.json")
    assert len(again) == 2
    assert not any(delta.failed for delta in compare(again, again, 0.1))


def test_an_empty_folder_is_an_error(tmp_path: Path, capsys) -> None:
    assert bench_summary.main([str(tmp_path)]) == 1
    assert capsys.readouterr().err == f"bench summary: no results under {tmp_path}\n"
