"""The supervisor of a started stack, on real processes (small HTTP servers) and a clock the test moves."""

from __future__ import annotations

import io
import signal
import sys
from pathlib import Path

import pytest

from observatory.restart_policy import RestartPolicy
from observatory.stack import Service, Stack
from observatory.supervisor import CannotStartError, Supervisor
from support.processes import free_port


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _server(name: str, guard: Path | None = None, pid_of: str | None = None) -> Service:
    """An HTTP server answering on a free port; with ``guard``, it refuses to start once that file is gone.

    Through ``sh -c``, so that arguments the stack appends (``--pid``) land in the shell's unused ``$0``, ``$1``.
    """
    port = free_port()
    serve = f"exec {sys.executable} -m http.server --bind 127.0.0.1 {port}"
    argv = ("sh", "-c", f"test -e {guard} && {serve}" if guard else serve)
    return Service(name, argv, f"http://127.0.0.1:{port}", "/", pid_of=pid_of)


@pytest.fixture
def stacks(tmp_path):
    started: list[Stack] = []

    def start(*services: Service) -> Stack:
        stack = Stack(services, tmp_path, ready_timeout=30)
        started.append(stack)
        stack.start()
        return stack

    yield start
    for stack in started:
        stack.stop()


def _kill(stack: Stack, name: str) -> None:
    stack.processes[name].send_signal(signal.SIGKILL)
    stack.processes[name].wait()


def test_a_dead_service_is_named_and_restarted_after_its_delay_and_the_rest_keeps_running(stacks):
    stack = stacks(_server("a"), _server("b"))
    clock, out = Clock(), io.StringIO()
    supervisor = Supervisor(stack, out, RestartPolicy(initial_delay=10), clock)
    b_pid = stack.processes["b"].pid
    _kill(stack, "a")
    supervisor.check()
    assert out.getvalue() == "a exited with -9; restarting in 10 s (restart 1)\n"
    clock.now += 9.9
    supervisor.check()
    assert stack.exited() == ["a"]
    clock.now += 0.1
    supervisor.check()
    assert stack.exited() == []
    assert out.getvalue().splitlines()[-1] == f"a restarted, pid {stack.processes['a'].pid}"
    assert stack.processes["b"].pid == b_pid


def test_consecutive_deaths_double_the_delay_up_to_the_cap_and_a_long_run_resets_it(stacks):
    stack = stacks(_server("a"))
    clock, out = Clock(), io.StringIO()
    policy = RestartPolicy(initial_delay=1, max_delay=4, reset_after=60)
    supervisor = Supervisor(stack, out, policy, clock)
    delays = []
    for _ in range(4):
        _kill(stack, "a")
        supervisor.check()
        delays.append(out.getvalue().splitlines()[-1].split("restarting in ")[1].split(" s")[0])
        clock.now += 10  # past any delay, and short of reset_after
        supervisor.check()
        assert stack.exited() == []
    assert delays == ["1", "2", "4", "4"]
    clock.now += 60
    _kill(stack, "a")
    supervisor.check()
    assert out.getvalue().splitlines()[-1] == "a exited with -9; restarting in 1 s (restart 1)"


def test_a_service_that_cannot_start_again_ends_the_stack_after_the_policys_tries(stacks, tmp_path):
    guard = tmp_path / "may-start"
    guard.touch()
    stack = stacks(_server("a", guard))
    clock, out = Clock(), io.StringIO()
    supervisor = Supervisor(stack, out, RestartPolicy(initial_delay=1, give_up_after=3), clock)
    guard.unlink()
    _kill(stack, "a")
    supervisor.check()
    for _ in range(2):
        clock.now += 100
        supervisor.check()
        assert "did not start again (a exited with 1" in out.getvalue().splitlines()[-1]
    clock.now += 100
    with pytest.raises(CannotStartError, match="a cannot start: 3 restarts in a row failed"):
        supervisor.check()


def test_without_restarts_a_death_is_reported_once_and_the_rest_keeps_running(stacks):
    stack = stacks(_server("a"), _server("b"))
    clock, out = Clock(), io.StringIO()
    supervisor = Supervisor(stack, out, RestartPolicy(enabled=False), clock)
    _kill(stack, "a")
    for _ in range(3):
        supervisor.check()
        clock.now += 1000
    assert out.getvalue() == "a exited with -9; not restarted (restarts are off); the other services keep running\n"
    assert stack.exited() == ["a"]


def test_a_follower_by_pid_is_restarted_with_the_service_it_watches(stacks):
    stack = stacks(_server("shard"), _server("exporter", pid_of="shard"))
    assert stack.processes["exporter"].args[-2:] == ["--pid", str(stack.processes["shard"].pid)]
    clock, out = Clock(), io.StringIO()
    supervisor = Supervisor(stack, out, RestartPolicy(initial_delay=1), clock)
    _kill(stack, "shard")
    supervisor.check()
    clock.now += 1
    supervisor.check()
    assert stack.processes["exporter"].args[-2:] == ["--pid", str(stack.processes["shard"].pid)]
    assert out.getvalue().splitlines()[-1] == "exporter restarted to watch shard's new process"
