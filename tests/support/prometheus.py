"""A real Prometheus server for tests: config written by the test, loopback only, stopped afterwards."""

from __future__ import annotations

import contextlib
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import yaml

from support.processes import RunningProcess, free_port, require_binary, wait_for_http


class PrometheusServer:
    """Query helpers over a running Prometheus' HTTP API."""

    def __init__(self, base_url: str, process: RunningProcess) -> None:
        self.base_url = base_url
        self.process = process

    def api(self, path: str, **params: str) -> dict:
        """The ``data`` of a successful API call; raises with Prometheus' error otherwise."""
        url = f"{self.base_url}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                text = response.read()
        except urllib.error.HTTPError as error:
            text = error.read()
        try:
            body = json.loads(text)
        except ValueError:
            raise AssertionError(f"{path} {params}: not JSON: {text[:200]!r}") from None
        if body.get("status") != "success":
            raise AssertionError(f"{path} {params}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def query(self, expr: str) -> list[dict]:
        """The instant-vector result of ``expr`` now."""
        return self.api("query", query=expr)["result"]

    def wait_until(self, expr: str, timeout: float = 60.0) -> list[dict]:
        """Poll ``expr`` until it returns at least one series."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = self.query(expr)
            if result:
                return result
            time.sleep(0.5)
        raise AssertionError(f"{expr} returned nothing within {timeout} s\n{self.process.log()[-2000:]}")


@contextlib.contextmanager
def running_prometheus(
    workdir: Path, jobs: Mapping[str, Sequence[str]], rule_files: Sequence[Path] = (), interval: str = "1s"
) -> Iterator[PrometheusServer]:
    """Prometheus scraping ``jobs`` (job name -> host:port targets) and evaluating ``rule_files``."""
    binary = require_binary("prometheus")
    config = {
        "global": {"scrape_interval": interval, "evaluation_interval": interval, "scrape_timeout": interval},
        "scrape_configs": [
            {"job_name": job, "static_configs": [{"targets": list(targets)}]} for job, targets in jobs.items()
        ],
        "rule_files": [str(path) for path in rule_files],
    }
    config_file = workdir / "prometheus.yml"
    config_file.write_text(yaml.safe_dump(config))
    port = free_port()
    argv = [
        binary,
        f"--config.file={config_file}",
        f"--storage.tsdb.path={workdir / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
    ]
    with RunningProcess(argv, workdir / "prometheus.log") as process:
        base_url = f"http://127.0.0.1:{port}"
        wait_for_http(f"{base_url}/-/ready", timeout=60, process=process.process, ready_only=True)
        yield PrometheusServer(base_url, process)
