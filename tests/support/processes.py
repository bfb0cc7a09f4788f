"""Start real processes (Prometheus, promtool, exporters, shards) on loopback and stop them."""

from __future__ import annotations

import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from observatory.commandline import free_port

__all__ = ["RunningProcess", "free_port", "require_binary", "wait_for_http"]


def require_binary(name: str) -> str:
    """The path of a toolchain binary; fails (never skips) when it is missing.

    ``make test`` installs Debian's prometheus toolchain, so a missing binary is a broken
    set-up, not a reason to skip.
    """
    path = shutil.which(name)
    if path is None:
        raise AssertionError(f"{name} is not installed; run `make test`, which installs it")
    return path


def wait_for_http(
    url: str, timeout: float = 30.0, process: subprocess.Popen | None = None, ready_only: bool = False
) -> None:
    """Poll ``url`` until it answers, or fail after ``timeout`` seconds.

    Any HTTP status counts as an answer, unless ``ready_only``: then only a 2xx does, for
    readiness endpoints that answer 503 while the server is still starting.
    """
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"process exited with {process.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError as error:
            if not ready_only:
                return
            last_error = error
        except OSError as error:
            last_error = error
        time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {timeout} s: {last_error}")


class RunningProcess:
    """A child process started for a test, stopped (and reaped) on exit."""

    def __init__(self, argv: Sequence[str], log: Path, cwd: Path | None = None, env: dict | None = None) -> None:
        self.log_path = log
        self._log = log.open("wb")
        self.process = subprocess.Popen(
            list(argv), stdout=self._log, stderr=subprocess.STDOUT, cwd=cwd, env=env, start_new_session=True
        )

    def log(self) -> str:
        """What the process printed so far."""
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def kill(self) -> int:
        """kill -9 the process, as a crash would, and release its log; its exit status."""
        self.process.kill()
        self.process.wait()
        return self.stop()

    def stop(self, timeout: float = 10.0) -> int:
        """Terminate the process and wait for it; returns its exit code."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        return self.process.returncode

    def __enter__(self) -> RunningProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
