"""``observatory up``: the whole local stack from one command, and nothing left running after SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
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
