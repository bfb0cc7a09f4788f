"""The ``observatory`` command run as a user runs it, in a process of its own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def generate_with(config_text: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """``observatory generate --config FILE --out DIR`` with ``config_text`` as FILE, under ``tmp_path``."""
    path = tmp_path / "observatory.yml"
    path.write_text(config_text, encoding="utf-8")
    argv = [sys.executable, "-m", "observatory.cli", "generate", "--config", str(path), "--out", str(tmp_path / "out")]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120)
