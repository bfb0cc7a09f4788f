"""The built wheel installs everything under the observatory namespace."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest


@pytest.mark.slow
def test_wheel_has_no_generic_top_level_names(repo_root: Path, tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path), str(repo_root)],
        check=True,
        timeout=300,
        cwd=tmp_path,
    )
    [wheel] = tmp_path.glob("themis_observatory-*.whl")
    tops = {name.split("/", 1)[0] for name in zipfile.ZipFile(wheel).namelist()}
    assert {top for top in tops if not top.endswith(".dist-info")} == {"observatory"}
    names = set(zipfile.ZipFile(wheel).namelist())
    for module in (
        "dashboards",
        "rules",
        "exporters",
        "runtime",
        "orchestrator",
        "orchestrator/durable",
        "loadgen",
        "manifests",
        "config",
        "verify",
    ):
        assert f"observatory/{module}/__init__.py" in names
    # The field linters' exemptions ship with the package, so an installed `observatory lint` applies them.
    assert "observatory/lint/field-exemptions.yml" in names
