"""Helpers for the load generator's tests: the stalling server as a real process, the CLI as a subprocess."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from support.processes import RunningProcess, free_port, wait_for_http

STALL_SERVER = Path(__file__).with_name("stall_server.py")
TOKEN_SERVER = Path(__file__).with_name("token_server.py")


@contextlib.contextmanager
def stall_server(workdir: Path, stall_at: int, stall_s: float, task_s: float = 0.2) -> Iterator[str]:
    """The stalling server on a free loopback port; yields its base URL."""
    port = free_port()
    argv = [sys.executable, str(STALL_SERVER), str(port), str(stall_at), str(stall_s), str(task_s)]
    with RunningProcess(argv, workdir / f"stall-{port}.log") as process:
        wait_for_http(f"http://127.0.0.1:{port}/openapi.json", process=process.process)
        yield f"http://127.0.0.1:{port}"


@contextlib.contextmanager
def token_server(workdir: Path, first_s: float, gap_s: float, tokens: int) -> Iterator[str]:
    """The scripted streaming server on a free loopback port; yields its base URL."""
    port = free_port()
    argv = [sys.executable, str(TOKEN_SERVER), str(port), str(first_s), str(gap_s), str(tokens)]
    with RunningProcess(argv, workdir / f"tokens-{port}.log") as process:
        wait_for_http(f"http://127.0.0.1:{port}/v1/models", process=process.process)
        yield f"http://127.0.0.1:{port}"


def loadgen(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``observatory-loadgen`` with ``args``, run to completion."""
    script = Path(sys.executable).with_name("observatory-loadgen")
    return subprocess.run([str(script), *args], capture_output=True, text=True, timeout=timeout)


def results(path: Path) -> dict:
    """A results JSON file."""
    return json.loads(path.read_text())
