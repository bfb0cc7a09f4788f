"""The aiperf binary ``make test`` installs, for the agreement tests."""

from __future__ import annotations

import shutil
from pathlib import Path

# aiperf pins libraries (prometheus-client among them) below what this project needs, so `make test`
# gives it a virtual environment of its own at the repository's root.
AIPERF_VENV = ".venv-aiperf"


def aiperf_binary(repo_root: Path) -> str:
    """The aiperf command: the project's own environment of it, else one on PATH; fails when neither is there."""
    own = repo_root / AIPERF_VENV / "bin" / "aiperf"
    found = str(own) if own.exists() else shutil.which("aiperf")
    assert found, f"aiperf is missing: `make test` installs it into {AIPERF_VENV}/"
    return found
