"""Fixtures shared by every test level."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.processes import require_binary

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository checkout the tests run from."""
    return REPO_ROOT


@pytest.fixture(scope="session")
def promtool() -> str:
    """Path of Debian's promtool."""
    return require_binary("promtool")
