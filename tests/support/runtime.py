"""Helpers for the shard runtime's tests: settings on a shared model cache, in-process and real shards."""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from observatory.runtime.app import create_app
from observatory.runtime.service import Shard
from observatory.runtime.settings import ShardSettings
from support.processes import RunningProcess, free_port, wait_for_http

ADMIN_TOKEN = "test-token-0123456789abcdef"


def model_cache(tmp_path_factory) -> Path:
    """One cache directory per test session, so the generated model is written once."""
    return tmp_path_factory.getbasetemp() / "runtime-model-cache"


def settings(cache_dir: Path, **overrides) -> ShardSettings:
    """Test settings: the generated model in ``cache_dir``, an admin token, recall measured every add."""
    values = {"domain": "legal", "cache_dir": cache_dir, "admin_token": ADMIN_TOKEN, "recall_interval_s": 0.0}
    return ShardSettings(**(values | overrides))


@contextlib.contextmanager
def started_client(shard_settings: ShardSettings) -> Iterator[TestClient]:
    """A TestClient on an in-process shard whose start-up has finished (loaded, or failed with an error)."""
    shard = Shard(shard_settings)
    with TestClient(create_app(shard), raise_server_exceptions=False) as client:
        deadline = time.monotonic() + 30
        while not (shard.started or shard.startup_error):
            assert time.monotonic() < deadline, "the shard did not finish starting"
            time.sleep(0.02)
        client.shard = shard
        yield client


def shard_command(cache_dir: Path, port: int, config: Path, *extra: str) -> list[str]:
    """The installed ``observatory-shard`` console script with test flags."""
    script = Path(sys.executable).with_name("observatory-shard")
    return [str(script), "--domain", "legal", "--port", str(port), "--cache-dir", str(cache_dir),
            "--config", str(config), *extra]  # fmt: skip


def shard_process(cache_dir: Path, workdir: Path, **config) -> tuple[RunningProcess, str]:
    """A real shard process on a free loopback port, just launched, and its base URL."""
    port = free_port()
    config_file = workdir / f"shard-{port}.json"
    config_file.write_text(json.dumps({"admin_token": ADMIN_TOKEN, "recall_interval_s": 0.0} | config))
    process = RunningProcess(shard_command(cache_dir, port, config_file), workdir / f"shard-{port}.log")
    return process, f"http://127.0.0.1:{port}"


@contextlib.contextmanager
def running_shard(cache_dir: Path, workdir: Path, **config) -> Iterator[tuple[RunningProcess, str]]:
    """A real shard process on a free loopback port, started and answering ``/startup``."""
    process, base = shard_process(cache_dir, workdir, **config)
    try:
        wait_for_http(f"{base}/startup", timeout=60, process=process.process)
        deadline = time.monotonic() + 60
        while get_json(f"{base}/startup")[0] != 200:
            assert time.monotonic() < deadline, process.log()
            time.sleep(0.05)
        yield process, base
    finally:
        process.stop()


def get_json(url: str) -> tuple[int, dict]:
    """Status and JSON body of a GET."""
    return request_json("GET", url)


def request_json(method: str, url: str, body: dict | None = None, headers: dict | None = None) -> tuple[int, dict]:
    """Status and JSON body of an HTTP request (4xx and 5xx included)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"content-type": "application/json"})
    for key, value in (headers or {}).items():
        request.add_header(key, value)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read()
            return response.status, json.loads(text) if text else {}
    except urllib.error.HTTPError as error:
        text = error.read()
        return error.code, json.loads(text) if text else {}


def scrape(base: str) -> dict[tuple[str, tuple], float]:
    """Every sample of a shard's ``/metrics``, by (sample name, sorted label pairs)."""
    with urllib.request.urlopen(f"{base}/metrics", timeout=30) as response:
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def sample(base: str, name: str, **labels: str) -> float:
    """The sum of a shard's ``/metrics`` samples called ``name`` that carry ``labels`` (and others, such as
    ``model``); fails if there is none."""
    wanted = set(labels.items())
    values = [value for (sample_name, pairs), value in scrape(base).items()
              if sample_name == name and wanted <= set(pairs)]  # fmt: skip
    assert values, f"no sample {name} with {labels}"
    return sum(values)


def wait_until(condition, timeout: float = 30, what: str = "the condition") -> None:
    """Poll ``condition()`` until it is true, or fail the test."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


class OpenRequest:
    """A raw HTTP/1.1 POST on its own connection; with ``complete=False`` the body's last bytes are held
    back, so that the request is admitted and then waits for them (:meth:`finish` sends them)."""

    def __init__(self, base: str, path: str, body: dict, complete: bool = True) -> None:
        payload = json.dumps(body).encode()
        head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n").encode()  # fmt: skip
        host, port = base.removeprefix("http://").split(":")
        self.connection = socket.create_connection((host, int(port)), timeout=60)
        self.connection.sendall(head + (payload if complete else payload[:-2]))
        self._held_back = b"" if complete else payload[-2:]

    def finish(self) -> tuple[int, dict, str]:
        """Send what was held back, and read the answer."""
        self.connection.sendall(self._held_back)
        return self.answer()

    def answer(self) -> tuple[int, dict, str]:
        """Status, headers and body text of the answer; closes the connection."""
        with self.connection, self.connection.makefile("rb") as answer:
            raw = answer.read().decode()
        head, _, text = raw.partition("\r\n\r\n")
        status_line, *header_lines = head.split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in header_lines)}
        return int(status_line.split()[1]), headers, text

    def hang_up(self) -> None:
        """Close the connection without reading an answer."""
        self.connection.close()
