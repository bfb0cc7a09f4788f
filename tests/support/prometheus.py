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
    config = {
        "global": {"scrape_interval": interval, "evaluation_interval": interval, "scrape_timeout": interval},
        "scrape_configs": [
            {"job_name": job, "static_configs": [{"targets": list(targets)}]} for job, targets in jobs.items()
        ],
        "rule_files": [str(path) for path in rule_files],
    }
    flags = (f"--storage.tsdb.path={workdir / 'tsdb'}", "--log.level=warn")
    with running_server("prometheus", workdir, config, *flags) as (process, base_url):
        yield PrometheusServer(base_url, process)


@contextlib.contextmanager
def running_alertmanager(workdir: Path, config: Mapping) -> Iterator[tuple[RunningProcess, str]]:
    """A single Alertmanager (no cluster) with ``config``; yields the process and its base URL."""
    flags = (f"--storage.path={workdir / 'alertmanager-data'}", "--cluster.listen-address=")
    with running_server("prometheus-alertmanager", workdir, config, *flags) as running:
        yield running


@contextlib.contextmanager
def running_server(binary: str, workdir: Path, config: Mapping, *flags: str) -> Iterator[tuple[RunningProcess, str]]:
    """A Prometheus-toolchain server with ``config`` on a free loopback port, once its /-/ready says so."""
    config_file = workdir / f"{binary}.yml"
    config_file.write_text(yaml.safe_dump(config))
    port = free_port()
    argv = [require_binary(binary), f"--config.file={config_file}", f"--web.listen-address=127.0.0.1:{port}", *flags]
    with RunningProcess(argv, workdir / f"{binary}.log") as process:
        base_url = f"http://127.0.0.1:{port}"
        wait_for_http(f"{base_url}/-/ready", timeout=60, process=process.process, ready_only=True)
        yield process, base_url
