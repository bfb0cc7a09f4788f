"""A pod's shared process namespace on this host: a new PID namespace that several processes enter.

Kubernetes' ``shareProcessNamespace`` puts a pod's containers into one PID namespace whose first
process is the pause container. Here ``unshare`` makes such a namespace around a sleeping first
process, and ``nsenter`` starts each "container" inside it, so a process sees exactly the pod's
processes and none of the host's (other shards running on this machine stay invisible).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from support.processes import RunningProcess, require_binary


def container_argv(command: Sequence[str], replaced: Mapping[str, str], added: Sequence[str] = ()) -> list[str]:
    """A manifest container's command run from this virtual environment, some flag values replaced.

    The console script is taken from beside the running interpreter, as the image installs it on PATH.
    """
    argv = [str(Path(sys.executable).with_name(command[0])), *command[1:]]
    for flag, value in replaced.items():
        argv[argv.index(flag) + 1] = value
    return [*argv, *added]


class SharedPidNamespace:
    """A PID namespace held open by a sleeping first process; :meth:`start` runs a process inside it."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        unshare, self._nsenter = require_binary("unshare"), require_binary("nsenter")
        self._holder = subprocess.Popen([unshare, "--pid", "--fork", "--mount-proc", "sleep", "infinity"])
        deadline = time.monotonic() + 10
        # unshare forks: the namespace's first process is its child.
        while not (children := _children(self._holder.pid)):
            assert time.monotonic() < deadline, "unshare did not start its first process"
            time.sleep(0.05)
        self.first_pid = children[0]

    def start(self, name: str, argv: Sequence[str]) -> RunningProcess:
        """``argv`` started inside the namespace (nsenter forks it there), logging to ``name``.log."""
        entered = [self._nsenter, "--target", str(self.first_pid), "--pid", "--mount", "--", *argv]
        return RunningProcess(entered, self.workdir / f"{name}.log")

    def kill(self, process: RunningProcess) -> None:
        """kill -9 the process nsenter started inside the namespace, as a crashing container; nsenter then exits."""
        for child in _children(process.process.pid):
            os.kill(child, signal.SIGKILL)
        process.process.wait(10)

    def close(self) -> None:
        """End the namespace: its first process killed, the kernel kills every process inside."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.first_pid, signal.SIGKILL)
        self._holder.wait(10)


def _children(pid: int) -> list[int]:
    listed = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(child) for child in listed.split()]


@contextlib.contextmanager
def shared_pid_namespace(workdir: Path) -> Iterator[SharedPidNamespace]:
    """A :class:`SharedPidNamespace`, closed afterwards."""
    namespace = SharedPidNamespace(workdir)
    try:
        yield namespace
    finally:
        namespace.close()
