"""Keeping a started local stack running: a service that dies is named and started again, with backoff.

Restarts follow a :class:`RestartPolicy`. Only a service that fails to get ready ``give_up_after``
times in a row (it cannot start at all) ends the stack; the others keep running meanwhile, so a
failover and the alerts about the dead service can be watched.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

from observatory.restart_policy import RestartPolicy
from observatory.stack import Stack, StackError


class CannotStartError(StackError):
    """A service failed to get ready on every one of the policy's consecutive restarts."""


@dataclass
class Supervisor:
    """Watches a started :class:`Stack`: reports every service that exits and restarts it per ``policy``.

    A service that follows another by pid (a shard's host exporter) is restarted with it, so that it
    watches the new process. Messages go to ``out``, one line each.
    """

    stack: Stack
    out: TextIO
    policy: RestartPolicy = field(default_factory=RestartPolicy)
    clock: Callable[[], float] = time.monotonic
    _crashes: dict[str, int] = field(default_factory=dict)
    _failed_starts: dict[str, int] = field(default_factory=dict)
    _due: dict[str, float] = field(default_factory=dict)
    _started: dict[str, float] = field(default_factory=dict)
    _reported: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._started = dict.fromkeys(self.stack.processes, self.clock())

    def check(self) -> None:
        """One round: report newly dead services, restart those whose delay has passed; CannotStartError to give up."""
        now = self.clock()
        for name in self.stack.exited():
            if name not in self._due and name not in self._reported:
                self._died(name, f"exited with {self.stack.processes[name].returncode}", now)
        for name, due in sorted(self._due.items(), key=lambda item: item[1]):
            if due <= now:
                self._restart(name)

    def _died(self, name: str, why: str, now: float) -> None:
        if not self.policy.enabled:
            self._reported.add(name)
            self._say(f"{name} {why}; not restarted (restarts are off); the other services keep running")
            return
        ran = now - self._started.get(name, now)
        crashes = 1 if ran >= self.policy.reset_after else self._crashes.get(name, 0) + 1
        self._crashes[name] = crashes
        delay = self.policy.delay(crashes)
        self._due[name] = now + delay
        self._say(f"{name} {why}; restarting in {delay:g} s (restart {crashes})")

    def _restart(self, name: str) -> None:
        del self._due[name]
        try:
            self.stack.restart(name)
        except StackError as error:
            failed = self._failed_starts[name] = self._failed_starts.get(name, 0) + 1
            if failed >= self.policy.give_up_after:
                why = f"{failed} restarts in a row failed, the last: {error}"
                raise CannotStartError(f"{name} cannot start: {why}") from None
            self._started[name] = self.clock()
            self._died(name, f"did not start again ({error})", self.clock())
            return
        self._failed_starts[name] = 0
        self._started[name] = self.clock()
        self._say(f"{name} restarted, pid {self.stack.processes[name].pid}")
        for follower in self.stack.services:
            if follower.pid_of == name and follower.name in self.stack.processes:
                self._due.pop(follower.name, None)
                self._reported.discard(follower.name)
                self.stack.restart(follower.name)
                self._say(f"{follower.name} restarted to watch {name}'s new process")

    def _say(self, line: str) -> None:
        self.out.write(line + "\n")
        self.out.flush()


def run_until_stopped(
    stack: Stack, out: TextIO, policy: RestartPolicy | None = None, poll_seconds: float = 0.5
) -> int:
    """Start ``stack``, print every URL, and keep it running until SIGINT or SIGTERM (0).

    A service that dies is reported and restarted per ``policy`` while the others keep running; the
    stack ends with 1 only when a service cannot start (at first, or on ``give_up_after``
    restarts in a row). A signal while services are starting or restarting interrupts that; what
    started is stopped.
    """
    stop = threading.Event()
    idle = threading.Event()

    def on_signal(_signum: int, _frame: object) -> None:
        already = stop.is_set()
        stop.set()
        if not already and not idle.is_set():
            raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        stack.start(lambda service: out.write(f"{service.name:<24} {service.url}\n") or out.flush())
        out.write(f"stack ready; logs in {stack.workdir}; Ctrl-C stops everything\n")
        out.flush()
        supervisor = Supervisor(stack, out, policy or RestartPolicy())
        while True:
            idle.set()
            if stop.wait(poll_seconds):
                return 0
            idle.clear()
            try:
                supervisor.check()
            except CannotStartError as error:
                out.write(f"stopping: {error}\n")
                return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stack.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
