"""Helpers for the shard runtime's tests: settings on a shared model cache, in-process and real shards."""

from __future__ import annotations

import contextlib
import json
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from fastapi.testclient import TestClient

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


@contextlib.contextmanager
def running_shard(cache_dir: Path, workdir: Path, **config) -> Iterator[tuple[RunningProcess, str]]:
    """A real shard process on a free loopback port, started and answering ``/startup``."""
    port = free_port()
    config_file = workdir / f"shard-{port}.json"
    config_file.write_text(json.dumps({"admin_token": ADMIN_TOKEN, "recall_interval_s": 0.0} | config))
    process = RunningProcess(shard_command(cache_dir, port, config_file), workdir / f"shard-{port}.log")
    base = f"http://127.0.0.1:{port}"
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
