"""Both exporters as real processes: catalogue conformance over HTTP, promtool, HTTP behaviour and flags."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from observatory.catalogue import CATALOGUE
from observatory.metric import MetricType, Source
from support.processes import RunningProcess, free_port, wait_for_http

BIN = Path(sys.executable).parent
TESTS = Path(__file__).resolve().parent.parent
GPU = "observatory-gpu-exporter"
HOST = "observatory-host-exporter"


class Exporter:
    """A started exporter process and its port."""

    def __init__(self, process: RunningProcess, port: int) -> None:
        self.process = process
        self.port = port

    def request(self, method: str, path: str) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path)
            response = connection.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            connection.close()

    def metrics(self) -> str:
        status, _, body = self.request("GET", "/metrics")
        assert status == 200
        return body.decode()


def start(script: str, tmp_path: Path, *flags: str, env: dict[str, str] | None = None) -> Exporter:
    port = free_port()
    argv = [str(BIN / script), "--listen-address", "127.0.0.1", "--port", str(port), "--shard", "legal", *flags]
    environment = {**os.environ, "PYTHONPATH": str(TESTS), **(env or {})}
    process = RunningProcess(argv, tmp_path / f"{script}.log", env=environment)
    wait_for_http(f"http://127.0.0.1:{port}/", process=process.process)
    return Exporter(process, port)


@pytest.fixture
def shard_socket() -> Iterator[int]:
    """A port with one established connection, standing in for the shard's service port."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)), server.accept()[0]:
            yield port


@pytest.fixture
def host_exporter(tmp_path, shard_socket) -> Iterator[Exporter]:
    exporter = start(HOST, tmp_path, "--pid", str(os.getpid()), "--shard-port", str(shard_socket))
    yield exporter
    exporter.process.stop()


@pytest.fixture
def gpu_exporter(tmp_path) -> Iterator[Exporter]:
    exporter = start(GPU, tmp_path, "--nvml-module", "support.exporters")
    yield exporter
    exporter.process.stop()


def declared(source: Source) -> dict[str, tuple[str, frozenset[str]]]:
    """The catalogue's families for ``source`` as the text parser names them (counters lose ``_total``)."""
    families = {}
    for metric in CATALOGUE.by_source(source):
        name = metric.name.removesuffix("_total") if metric.type is MetricType.COUNTER else metric.name
        families[name] = (metric.type.value, frozenset(metric.label_names))
    return families


def exposed(text: str) -> dict[str, tuple[str, frozenset[str]]]:
    """Each family's type and the label names its samples carry (every family must have samples)."""
    families = {}
    for family in text_string_to_metric_families(text):
        assert family.samples, f"{family.name} has no samples"
        labels = {frozenset(sample.labels) for sample in family.samples}
        assert len(labels) == 1, f"{family.name} mixes label sets {labels}"
        families[family.name] = (family.type, labels.pop())
    return families


@pytest.mark.parametrize(
    ("fixture", "source"), [("host_exporter", Source.HOST_EXPORTER), ("gpu_exporter", Source.GPU_EXPORTER)]
)
def test_exposes_exactly_its_catalogue_metrics(request, fixture, source):
    exporter = request.getfixturevalue(fixture)
    assert exposed(exporter.metrics()) == declared(source)


@pytest.mark.parametrize("fixture", ["host_exporter", "gpu_exporter"])
def test_promtool_finds_nothing_to_report(request, promtool, fixture):
    exporter = request.getfixturevalue(fixture)
    result = subprocess.run(
        [promtool, "check", "metrics"], input=exporter.metrics(), capture_output=True, text=True, check=False
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_gpu_exporter_without_nvml_library_answers_with_self_metrics(tmp_path):
    exporter = start(GPU, tmp_path, "--nvml-module", "support.exporters", env={"SUBSTITUTE_NVML_FAULT": "no_library"})
    try:
        samples = {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(exporter.metrics())
            for sample in family.samples
        }
        assert samples[("themis_exporter_collector_up", (("collector", "nvml"),))] == 0
        errors = ("themis_exporter_collection_errors_total", (("collector", "nvml"), ("reason", "no_library")))
        assert samples[errors] >= 1
        assert not [name for name, _ in samples if name.startswith("themis_gpu")]
    finally:
        exporter.process.stop()
    assert "no_library" in exporter.process.log_path.read_text()


def test_http_behaviour(host_exporter):
    status, headers, body = host_exporter.request("GET", "/nowhere")
    assert status == 404
    assert "/metrics" in json.loads(body)["error"]
    status, headers, body = host_exporter.request("POST", "/metrics")
    assert (status, headers["allow"]) == (405, "GET, HEAD")
    assert "POST" in json.loads(body)["error"]
    status, headers, body = host_exporter.request("HEAD", "/metrics")
    assert (status, body) == (200, b"")
    assert headers["content-type"].startswith("text/plain; version=0.0.4")
    assert int(headers["content-length"]) > 0
    status, headers, body = host_exporter.request("GET", "/")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert b'href="/metrics"' in body
    assert host_exporter.request("GET", "/metrics?debug=1")[0] == 200


@pytest.mark.parametrize("script", [GPU, HOST])
def test_sigterm_stops_cleanly(tmp_path, script):
    exporter = start(script, tmp_path, "--nvml-module", "support.exporters") if script == GPU else start(HOST, tmp_path)
    exporter.process.process.send_signal(signal.SIGTERM)
    assert exporter.process.process.wait(timeout=30) == 0
    assert "Traceback" not in exporter.process.log_path.read_text()


@pytest.mark.parametrize(
    ("script", "argv", "env", "named"),
    [
        (HOST, ["--shard", "legal", "--port", "70000"], {}, "--port"),
        (HOST, ["--port", "9100"], {}, "--shard"),
        (HOST, ["--shard", "legal", "--pid", "-3"], {}, "--pid"),
        (HOST, ["--shard", "legal", "--frobnicate"], {}, "--frobnicate"),
        (HOST, ["--shard", "legal"], {"THEMIS_SHARD_PORT": "http"}, "THEMIS_SHARD_PORT"),
        (GPU, ["--shard", "legal", "--nvml-timeout", "0"], {}, "--nvml-timeout"),
        (GPU, ["--shard", "bad label!"], {}, "--shard"),
        (GPU, ["--shard", "legal", "--nvml-module", "no_such_binding"], {}, "--nvml-module"),
    ],
)
def test_bad_flags_exit_2_with_one_line(script, argv, env, named):
    environment = {key: value for key, value in os.environ.items() if not key.startswith("THEMIS_")}
    result = subprocess.run(
        [str(BIN / script), *argv], capture_output=True, text=True, env={**environment, **env}, timeout=60, check=False
    )
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and named in lines[0], result.stderr
