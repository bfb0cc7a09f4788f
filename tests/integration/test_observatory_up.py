"""``observatory up``: the whole local stack from one command, and nothing left running after SIGTERM."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from observatory.stack import Stack, StackError, plan_stack

pytestmark = pytest.mark.slow

OBSERVATORY = str(Path(sys.executable).with_name("observatory"))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _up(tmp_path: Path) -> subprocess.Popen:
    env = os.environ | {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    # The shards come from the configuration file, as they do without --shards.
    config = tmp_path / "observatory.yml"
    config.write_text("shards: [legal, finance]\n")
    argv = [OBSERVATORY, "up", "--config", str(config), "--workdir", str(tmp_path / "stack")]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)


def _children(pid: int) -> list[int]:
    listed = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(child) for child in listed.split()]


def test_up_serves_every_component_and_stops_them_all(tmp_path):
    process = _up(tmp_path)
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 120
        while not lines or not lines[-1].startswith("stack ready"):
            assert time.monotonic() < deadline and process.poll() is None, "".join(lines)
            lines.append(process.stdout.readline())
        urls = dict(re.findall(r"^(\S+)\s+(http://127\.0\.0\.1:\d+)$", "".join(lines), re.MULTILINE))
        kinds = ("shard", "host-exporter", "gpu-exporter")
        singles = {"orchestrator", "prometheus", "alertmanager"}
        assert set(urls) == {f"{kind}-{domain}" for kind in kinds for domain in ("legal", "finance")} | singles
        answer = httpx.post(f"{urls['orchestrator']}/api/v1/inference",
                            json={"prompt": "A finance question", "domain": "finance", "max_tokens": 8}, timeout=30)
        assert answer.status_code == 200 and answer.json()["shard"] == "finance"
        for name, url in urls.items():
            if "exporter" in name:
                assert "themis_exporter" in httpx.get(f"{url}/metrics").text
        # Prometheus scrapes every service of the stack and has the generated rules loaded.
        expected = {url for name, url in urls.items() if name not in ("prometheus", "alertmanager")}
        deadline = time.monotonic() + 60
        while True:  # its discovery lists the targets a moment after it is ready
            targets = httpx.get(f"{urls['prometheus']}/api/v1/targets").json()["data"]["activeTargets"]
            scraped = {target["scrapeUrl"].removesuffix("/metrics") for target in targets}
            if scraped == expected or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert scraped == expected
        groups = httpx.get(f"{urls['prometheus']}/api/v1/rules").json()["data"]["groups"]
        assert {"themis-recording", "themis-target-alerts"} <= {group["name"] for group in groups}
        alertmanagers = httpx.get(f"{urls['prometheus']}/api/v1/alertmanagers").json()["data"]
        assert [a["url"].split("/api/")[0] for a in alertmanagers["activeAlertmanagers"]] == [urls["alertmanager"]]
        children = _children(process.pid)
        assert len(children) == len(urls)
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0
        assert not [pid for pid in children if _alive(pid)]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_a_signal_while_starting_stops_what_started(tmp_path):
    process = _up(tmp_path)
    try:
        assert process.stdout.readline().startswith("shard-legal")
        children = _children(process.pid)
        assert children
        process.send_signal(signal.SIGINT)
        assert process.wait(60) == 0
        assert "orchestrator" not in process.stdout.read()
        assert not [pid for pid in children if _alive(pid)]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_up_without_a_monitoring_binary_says_which_in_one_line(tmp_path):
    # A PATH without Prometheus: the stack does not start, and the line names the binary and the way out.
    env = os.environ | {"PATH": str(Path(sys.executable).parent)}
    result = subprocess.run([OBSERVATORY, "up", "--shards", "legal", "--workdir", str(tmp_path)],
                            capture_output=True, text=True, env=env)  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "prometheus" in result.stderr and "--no-monitoring" in result.stderr
    assert not list(tmp_path.glob("*.log"))


def test_up_refuses_bad_shard_lists_in_one_line():
    for shards in ("legal,,finance", "legal,legal", "Legal"):
        result = subprocess.run([OBSERVATORY, "up", "--shards", shards], capture_output=True, text=True)
        assert result.returncode == 2
        assert result.stderr.count("\n") == 1 and "--shards" in result.stderr


def test_a_service_that_dies_while_starting_stops_the_stack(tmp_path):
    def config(domain: str) -> dict:
        # n_ctx below its bound: the finance shard refuses its settings and exits 2.
        return {"cache_dir": str(tmp_path / "cache")} | ({"n_ctx": 1} if domain == "finance" else {})

    plan = plan_stack(("legal", "finance"), tmp_path / "stack", exporters=False, shard_config=config)
    stack = Stack(plan.services, tmp_path / "stack")
    with pytest.raises(StackError, match="shard-finance exited with 2"):
        stack.start()
    assert stack.processes["shard-legal"].returncode == 0
    assert "orchestrator" not in stack.processes
    assert "n_ctx" in (tmp_path / "stack" / "shard-finance.log").read_text()


class Lines:
    """The lines a process prints, read by a thread, so that the test can wait for one with a deadline."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.seen: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [self._queue.put(line) for line in process.stdout], daemon=True).start()

    def wait_for(self, pattern: str, timeout: float) -> re.Match:
        """The first line (from now on) matching ``pattern``; fails with every line so far after ``timeout``."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._queue.get(timeout=left)
            except queue.Empty:
                break
            self.seen.append(line)
            if match := re.search(pattern, line):
                return match
        raise AssertionError(f"no line matching {pattern!r} within {timeout} s:\n{''.join(self.seen)}")


def _shard_pid(up: subprocess.Popen, domain: str) -> int:
    for pid in _children(up.pid):
        cmdline = Path(f"/proc/{pid}/cmdline").read_text().split("\0")
        if "observatory-shard" in Path(cmdline[1]).name and cmdline[cmdline.index("--domain") + 1] == domain:
            return pid
    raise AssertionError(f"no shard process for {domain}")


def _alert_state(prometheus: str, alert: str, shard: str) -> str | None:
    for entry in httpx.get(f"{prometheus}/api/v1/alerts").json()["data"]["alerts"]:
        if entry["labels"]["alertname"] == alert and entry["labels"].get("shard") == shard:
            return entry["state"]
    return None


def _poll(probe, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (result := probe()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)
    return result


def test_a_killed_shard_fails_over_alerts_and_comes_back_under_up(tmp_path):
    # The target-down alert's `for` is short, the restart delay longer: the alert fires while the shard is down.
    restart_delay, alert_for = 25, 3
    config = tmp_path / "observatory.yml"
    config.write_text(f"shards: [legal, finance]\nfor_durations: {{target_down: {alert_for}s}}\n")
    env = os.environ | {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    argv = [OBSERVATORY, "up", "--config", str(config), "--workdir", str(tmp_path / "stack"),
            "--restart-delay", str(restart_delay)]  # fmt: skip
    up = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    lines = Lines(up)
    try:
        orchestrator = lines.wait_for(r"^orchestrator\s+(http://\S+)$", 180)[1]
        prometheus = lines.wait_for(r"^prometheus\s+(http://\S+)$", 120)[1]
        lines.wait_for("^stack ready", 60)
        legal = _shard_pid(up, "legal")
        others = set(_children(up.pid)) - {legal}
        os.kill(legal, signal.SIGKILL)
        killed = time.monotonic()
        lines.wait_for(rf"^shard-legal exited with -9; restarting in {restart_delay} s \(restart 1\)$", 10)

        def ask() -> httpx.Response:
            body = {"prompt": "A legal question", "domain": "legal", "max_tokens": 4}
            return httpx.post(f"{orchestrator}/api/v1/inference", json=body, timeout=60)

        # While legal is down its requests go to its backup, and the other services keep running.
        answer = ask()
        assert answer.status_code == 200 and answer.json()["shard"] == "finance", answer.text
        assert answer.json()["fallback_used"] is True
        _poll(lambda: _alert_state(prometheus, "ThemisShardTargetDown", "legal") == "firing", 60, "the alert firing")
        assert time.monotonic() - killed < restart_delay, "the alert fired only after the restart was due"
        assert others <= set(_children(up.pid))
        # Then legal is started again on its address, and its host exporter follows its new pid.
        restarted = int(lines.wait_for(r"^shard-legal restarted, pid (\d+)$", restart_delay + 120)[1])
        assert time.monotonic() - killed >= restart_delay
        assert restarted == _shard_pid(up, "legal") != legal
        lines.wait_for(r"^host-exporter-legal restarted to watch shard-legal's new process$", 60)
        _poll(lambda: _alert_state(prometheus, "ThemisShardTargetDown", "legal") is None, 60, "the alert resolving")
        _poll(lambda: ask().json().get("shard") == "legal", 60, "legal answering its own domain again")
        up.send_signal(signal.SIGTERM)
        assert up.wait(60) == 0
    finally:
        if up.poll() is None:
            up.kill()
            up.wait()
