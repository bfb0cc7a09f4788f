"""Finding the shard's process by its command line, where its pid is not known in advance.

In a Kubernetes pod with ``shareProcessNamespace`` the host-exporter sidecar sees the shard
container's processes, but the shard's pid is only known once the pod runs, and changes each time
the shard container restarts; so the exporter looks for the process running the shard's program.
"""

from __future__ import annotations

import os
from pathlib import PurePath
from typing import Any


def runs_program(cmdline: list[str], program: str) -> bool:
    """Whether a process with this ``cmdline`` runs ``program``: directly, or as a script given to Python.

    Only the first two words count, so a process that merely names the program in an argument
    (``grep observatory-shard``, an editor) is not taken for it.
    """
    if not cmdline:
        return False
    if PurePath(cmdline[0]).name == program:
        return True
    return len(cmdline) > 1 and PurePath(cmdline[0]).name.startswith("python") and PurePath(cmdline[1]).name == program


def find_program(psutil: Any, program: str) -> Any:
    """The oldest process (other than this one) running ``program``; ``psutil.NoSuchProcess`` when none does.

    The oldest, because a program's helper processes start after it.
    """
    own = os.getpid()
    found = [
        process
        for process in psutil.process_iter(["cmdline", "create_time"])
        if process.pid != own and runs_program(process.info["cmdline"] or [], program)
    ]
    if not found:
        raise psutil.NoSuchProcess(0, program, f"no process runs {program}")
    return min(found, key=lambda process: process.info["create_time"])
