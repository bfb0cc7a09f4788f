"""Generated artefacts are reproducible and the committed copies are current."""

from __future__ import annotations

from pathlib import Path

from observatory.artefacts import GENERATED_GLOBS, all_artefacts, write_artefacts


def test_generation_is_deterministic() -> None:
    assert all_artefacts() == all_artefacts()


def test_every_file_ends_with_one_newline() -> None:
    for path, text in all_artefacts().items():
        assert text.endswith("\n") and not text.endswith("\n\n"), path


def test_committed_artefacts_are_current(repo_root: Path) -> None:
    stale = [
        path
        for path, text in all_artefacts().items()
        if not (repo_root / path).is_file() or (repo_root / path).read_text(encoding="utf-8") != text
    ]
    assert stale == [], "run `make dashboards` and commit the regenerated files"


def test_no_orphan_files_in_generated_folders(repo_root: Path) -> None:
    generated = set(all_artefacts())
    orphans = [
        path.relative_to(repo_root).as_posix()
        for pattern in GENERATED_GLOBS
        for path in repo_root.glob(pattern)
        if path.relative_to(repo_root).as_posix() not in generated
    ]
    assert orphans == []


def test_writing_twice_changes_nothing_and_stale_files_go(tmp_path: Path) -> None:
    files = {"dashboards/generated/a.json": "{}\n", "docs/metrics.md": "# m\n"}
    stale = tmp_path / "dashboards" / "generated" / "old.json"
    stale.parent.mkdir(parents=True)
    stale.write_text("{}\n")
    first = write_artefacts(tmp_path, files)
    assert stale in first and not stale.exists()
    before = {path: (tmp_path / path).read_bytes() for path in files}
    assert write_artefacts(tmp_path, files) == []
    assert {path: (tmp_path / path).read_bytes() for path in files} == before
