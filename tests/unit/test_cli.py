"""The ``observatory`` command's sub-commands and its errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from observatory.artefacts import all_artefacts
from observatory.catalogue import CATALOGUE


def _run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "observatory.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=120
    )


def test_catalogue_json_and_yaml_list_every_metric() -> None:
    as_json = json.loads(_run("catalogue", "--format", "json").stdout)
    as_yaml = yaml.safe_load(_run("catalogue", "--format", "yaml").stdout)
    assert [entry["name"] for entry in as_json] == [metric.name for metric in CATALOGUE]
    assert as_yaml == as_json
    switch = next(entry for entry in as_json if entry["name"] == "themis_lora_switch_latency_seconds")
    assert switch["type"] == "histogram"
    assert switch["seed_name"] == "themis_lora_switch_latency_milliseconds"
    assert switch["labels"][0]["name"] == "shard"


def test_catalogue_markdown_is_the_metrics_doc(repo_root: Path) -> None:
    markdown = _run("catalogue", "--format", "markdown").stdout
    assert markdown == (repo_root / "docs" / "metrics.md").read_text(encoding="utf-8")


def test_unknown_format_is_one_line_and_exit_2() -> None:
    result = _run("catalogue", "--format", "xml")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "invalid choice: 'xml'" in result.stderr
    assert "Traceback" not in result.stderr


def test_unwritable_output_dir_is_one_line_and_exit_1(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = _run("generate", "--out", str(blocker / "sub"))
    assert result.returncode == 1
    assert result.stderr.startswith("observatory generate: cannot write to")
    assert result.stderr.count("\n") == 1


def test_read_only_output_dir_is_refused(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        # root writes through permission bits; a path under a regular file fails for everyone
        target = tmp_path / "f"
        target.write_text("")
        target = target / "out"
    else:
        target = tmp_path / "ro"
        target.mkdir(mode=0o500)
    result = _run("generate", "--out", str(target))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr


def test_generate_writes_every_artefact_into_a_fresh_dir(tmp_path: Path) -> None:
    result = _run("generate", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    expected = all_artefacts()
    written = {path.relative_to(tmp_path).as_posix() for path in tmp_path.rglob("*") if path.is_file()}
    assert written == set(expected)
    assert all((tmp_path / path).read_text(encoding="utf-8") == text for path, text in expected.items())
    assert result.stdout == f"{len(expected)} files generated under {tmp_path}, {len(expected)} changed\n"


def test_missing_subcommand_is_a_usage_error() -> None:
    result = _run()
    assert result.returncode == 2
    assert "required" in result.stderr
