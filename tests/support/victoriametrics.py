"""A real single-node VictoriaMetrics for tests: loopback only, fed by Prometheus' remote_write, stopped afterwards."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from support.processes import RunningProcess, free_port, require_binary, wait_for_http
from support.prometheus import PrometheusServer


@contextlib.contextmanager
def running_victoriametrics(workdir: Path) -> Iterator[PrometheusServer]:
    """VictoriaMetrics on a free loopback port; its Prometheus query API through :class:`PrometheusServer`.

    Remote-written samples are queryable after one second rather than VictoriaMetrics' default 30 s, and
    no result is cached, so a test reads what was just written.
    """
    port = free_port()
    argv = [
        require_binary("victoria-metrics"),
        f"-storageDataPath={workdir / 'vm-data'}",
        f"-httpListenAddr=127.0.0.1:{port}",
        "-search.latencyOffset=1s",
        "-search.disableCache",
        "-loggerLevel=WARN",
    ]
    with RunningProcess(argv, workdir / "victoria-metrics.log") as process:
        base_url = f"http://127.0.0.1:{port}"
        wait_for_http(f"{base_url}/-/ready", timeout=60, process=process.process, ready_only=True)
        yield PrometheusServer(base_url, process)
