"""A real ``observatory-shard`` process: serves on loopback, stops on SIGTERM and on an admin shutdown."""

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from prometheus_client.parser import text_string_to_metric_families

from observatory.catalogue import CATALOGUE
from observatory.metric import Source
from support.runtime import ADMIN_TOKEN, get_json, model_cache, request_json, running_shard


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return model_cache(tmp_path_factory)


@pytest.mark.slow
def test_serves_inference_search_and_metrics_then_stops_on_sigterm(cache, tmp_path):
    with running_shard(cache, tmp_path) as (shard, base):
        status, body = request_json("POST", f"{base}/api/v1/inference", {"prompt": "Hello", "max_tokens": 16})
        assert status == 200 and body["completion_tokens"] == 16
        status, _ = request_json("POST", f"{base}/api/v1/documents", {"documents": [{"text": "contract law"},
                                                                                     {"text": "tax law"}]})  # fmt: skip
        assert status == 201
        status, body = request_json("POST", f"{base}/api/v1/search", {"text": "contract", "k": 2})
        assert status == 200 and len(body["results"][0]) == 2
        with urllib.request.urlopen(f"{base}/metrics") as response:
            families = {f.name for f in text_string_to_metric_families(response.read().decode())}
        # The text parser names a counter's family without its _total suffix.
        assert families == {m.name.removesuffix("_total") for m in CATALOGUE.by_source(Source.SHARD)}
        assert get_json(f"{base}/ready")[0] == 200
        shard.process.send_signal(signal.SIGTERM)
        assert shard.process.wait(timeout=20) == 0
        log = shard.log()
        assert "Application shutdown complete" in log
        assert "Traceback" not in log


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.slow
def test_sigterm_drains_a_request_in_flight_then_exits_0(cache, tmp_path):
    with running_shard(cache, tmp_path) as (shard, base):
        port = urlsplit(base).port
        body = json.dumps({"prompt": "Hello", "max_tokens": 4}).encode()
        head = (f"POST /api/v1/inference HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode()  # fmt: skip
        with socket.create_connection(("127.0.0.1", port), timeout=30) as client:
            client.sendall(head + body[:5])  # admitted, and waiting for the rest of its body
            deadline = time.monotonic() + 20
            while get_json(f"{base}/health")[1]["active_requests"] != 1:
                assert time.monotonic() < deadline, "the request was never admitted"
                time.sleep(0.02)
            shard.process.send_signal(signal.SIGTERM)
            while _listening(port):  # shutdown has begun once the listener is closed
                assert time.monotonic() < deadline, "SIGTERM did not start the shutdown"
                time.sleep(0.02)
            assert shard.process.poll() is None  # still draining the request in flight
            client.sendall(body[5:])
            answer = client.makefile("rb").read().decode()
        assert answer.startswith("HTTP/1.1 200")
        assert json.loads(answer.split("\r\n\r\n", 1)[1])["completion_tokens"] == 4
        assert shard.process.wait(timeout=20) == 0
        assert "Traceback" not in shard.log()


@pytest.mark.slow
def test_admin_shutdown_with_the_token_stops_the_process(cache, tmp_path):
    with running_shard(cache, tmp_path) as (shard, base):
        assert request_json("POST", f"{base}/admin/shutdown")[0] == 401
        assert shard.process.poll() is None
        status, _ = request_json("POST", f"{base}/admin/shutdown", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        assert status == 202
        assert shard.process.wait(timeout=20) == 0


@pytest.mark.parametrize(
    ("argv", "files", "message"),
    [
        ([], {}, "domain"),
        (["--domain", "legal", "--model", "no-such-model.gguf"], {}, "--model"),
        (["--domain", "Not A Domain"], {}, "domain"),
        (["--domain", "legal", "--gpu-profile", "voodoo"], {}, "gpu_profile"),
        (["--domain", "legal", "--port", "http"], {}, "--port"),
        (["--domain", "legal", "--frobnicate"], {}, "--frobnicate"),
        (["--config", "bad.yaml"], {"bad.yaml": b"domain: [legal\n"}, "--config"),
        (["--config", "keys.yaml"], {"keys.yaml": b"domain: legal\n1: one\n"}, "--config"),
        (["--config", "latin1.yaml"], {"latin1.yaml": "domain: l\u00e9gal\n".encode("latin-1")}, "--config"),
        (["--domain", "legal", "--cache-dir", "a-file/cache"], {"a-file": b""}, "--cache-dir"),
    ],
)
def test_bad_flags_exit_2_with_one_line(tmp_path, argv, files, message):
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    script = Path(sys.executable).with_name("observatory-shard")
    result = subprocess.run([str(script), *argv], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert message in result.stderr
