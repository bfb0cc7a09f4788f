"""Generated dashboard JSON: committed, deterministic, and readable by Grafana's own schema models."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from observatory import dashboards
from observatory.config import DEFAULT_CONFIG
from support.dashboards import sdk_round_trip, unknown_fields

SUITE = dashboards.dashboards(DEFAULT_CONFIG)


def test_generation_is_byte_identical() -> None:
    assert dashboards.artefacts(SUITE) == dashboards.artefacts(SUITE)


def test_json_is_sorted_indented_and_ends_with_a_newline() -> None:
    for text in dashboards.artefacts(SUITE).values():
        assert text.endswith("}\n")
        assert text == json.dumps(json.loads(text), sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def test_committed_json_is_not_stale(repo_root: Path) -> None:
    files = dashboards.artefacts(SUITE)
    for relative, text in files.items():
        path = repo_root / relative
        assert path.exists(), f"{relative} is missing: run `observatory generate`"
        assert path.read_text(encoding="utf-8") == text, f"{relative} is stale: run `observatory generate`"
    on_disk = {p.relative_to(repo_root).as_posix() for p in (repo_root / "dashboards/generated").glob("*.json")}
    assert on_disk == set(files)


@pytest.mark.parametrize("path", sorted(dashboards.artefacts(SUITE)))
def test_grafana_foundation_sdk_reads_every_field(path: str) -> None:
    data = json.loads(dashboards.artefacts(SUITE)[path])
    assert list(unknown_fields(data, sdk_round_trip(data))) == []


def test_the_round_trip_check_catches_a_field_grafana_does_not_know() -> None:
    data = json.loads(next(iter(dashboards.artefacts(SUITE).values())))
    tampered = copy.deepcopy(data)
    tampered["panels"][0]["span"] = 6  # grafanalib's pre-Grafana-5 layout field
    tampered["rows"] = []
    assert list(unknown_fields(tampered, sdk_round_trip(tampered))) == [".panels[0].span", ".rows"]
