"""The rendered shard pod's host exporter finds the shard's process in the shared process namespace.

The pod's own commands (from the generated Deployment, ports moved to free loopback ones) run in a
PID namespace of their own, as ``shareProcessNamespace`` gives the pod: the exporter, given no pid,
must find the shard there, find it again after the shard is killed and restarted, and a Prometheus
scraping the pod must leave `observatory verify` with no host-exporter series missing.
"""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest

from observatory import dashboards
from observatory.catalogue import CATALOGUE
from observatory.config import DEFAULT_CONFIG
from observatory.manifests.workloads import shard_deployment
from observatory.metric import Source
from observatory.rules.mixin import rule_groups
from observatory.verify import verify
from support.pod import SharedPidNamespace, container_argv, shared_pid_namespace
from support.processes import RunningProcess, free_port, wait_for_http
from support.prometheus import running_prometheus
from support.runtime import model_cache, sample, wait_until

pytestmark = pytest.mark.slow
DOMAIN = "legal"
PROCESS_SERIES = ("themis_shard_process_cpu_seconds_total", "themis_shard_process_resident_memory_bytes")


def _pod_spec() -> dict:
    return shard_deployment(DEFAULT_CONFIG, DOMAIN)["spec"]["template"]["spec"]


def _container(name: str) -> list[str]:
    [container] = [c for c in _pod_spec()["containers"] if c["name"] == name]
    return container["command"]


def _start_shard(pod: SharedPidNamespace, cache: Path, port: int) -> RunningProcess:
    argv = container_argv(_container("shard"), {"--host": "127.0.0.1", "--port": str(port), "--cache-dir": str(cache)})
    shard = pod.start("shard", argv)
    wait_for_http(f"http://127.0.0.1:{port}/startup", timeout=90, process=shard.process, ready_only=True)
    return shard


def _rss_of_inner_shard(shard: RunningProcess) -> int:
    [inner] = psutil.Process(shard.process.pid).children()
    return inner.memory_info().rss


def _process_series(base: str) -> float | None:
    try:
        return sample(base, "themis_shard_process_resident_memory_bytes", shard=DOMAIN)
    except (AssertionError, KeyError):
        return None


def test_the_pod_shares_its_process_namespace_and_names_the_shard_program():
    spec = _pod_spec()
    assert spec["shareProcessNamespace"] is True
    exporter = _container("host-exporter")
    assert "--pid" not in exporter
    program = exporter[exporter.index("--shard-program") + 1]
    # The program the exporter looks for is the one the shard container runs.
    assert _container("shard")[0] == program


def test_the_host_exporter_finds_the_shard_without_a_pid_and_again_after_a_restart(tmp_path, tmp_path_factory):
    cache, shard_port, exporter_port = model_cache(tmp_path_factory), free_port(), free_port()
    exporter_argv = container_argv(
        _container("host-exporter"),
        {"--port": str(exporter_port), "--shard-port": str(shard_port)},
        ("--listen-address", "127.0.0.1"),
    )
    exporter_url = f"http://127.0.0.1:{exporter_port}"
    with shared_pid_namespace(tmp_path) as pod:
        exporter = pod.start("host-exporter", exporter_argv)
        wait_for_http(f"{exporter_url}/metrics", timeout=30, process=exporter.process)
        # Alone in the pod, the exporter finds no shard: a not-found collection error, no process series.
        assert _process_series(exporter_url) is None
        assert sample(exporter_url, "themis_exporter_collection_errors_total", collector="process",
                      reason="not_found") >= 1  # fmt: skip
        shard = _start_shard(pod, cache, shard_port)
        rss = _process_series(exporter_url)
        # The exporter reads the shard's own process, not itself (about the shard's size, not its own).
        assert rss == pytest.approx(_rss_of_inner_shard(shard), rel=0.2)
        assert sample(exporter_url, "themis_shard_process_cpu_seconds_total", shard=DOMAIN) > 0
        first = psutil.Process(shard.process.pid).children()[0].create_time()

        pod.kill(shard)
        wait_until(lambda: _process_series(exporter_url) is None, what="the dead shard's series to go")
        shard = _start_shard(pod, cache, shard_port)
        assert psutil.Process(shard.process.pid).children()[0].create_time() > first
        wait_until(lambda: _process_series(exporter_url) is not None, what="the restarted shard to be found")
        assert _process_series(exporter_url) == pytest.approx(_rss_of_inner_shard(shard), rel=0.2)

        jobs = {"themisdb-shards": [f"127.0.0.1:{shard_port}"], "node-exporter": [f"127.0.0.1:{exporter_port}"]}
        (tmp_path / "prometheus").mkdir()
        with running_prometheus(tmp_path / "prometheus", jobs) as prometheus:
            for name in PROCESS_SERIES:
                prometheus.wait_until(name)
            report = verify(prometheus.base_url, None, CATALOGUE, dashboards.dashboards(DEFAULT_CONFIG),
                            rule_groups(DEFAULT_CONFIG))  # fmt: skip
        host_series = {metric.name for metric in CATALOGUE.by_source(Source.HOST_EXPORTER)}
        assert not host_series & set(report.missing_metrics)
        assert not set(PROCESS_SERIES) & set(report.missing_metrics)
        exporter.stop()
        shard.stop()
