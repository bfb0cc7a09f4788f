"""`make image` builds the Containerfile with podman, and a shard runs from the image on loopback.

No container registry is reachable here, so the base image is made from Debian's packages
(debootstrap's minimal variant, imported into podman) and passed as the build's BASE_IMAGE; users
build on the default public Python image. Podman runs with the settings this kind of machine needs,
from a CONTAINERS_CONF file of the test's own (nothing under /etc changes): the runc runtime, and
ulimits a container can raise to. pip inside the build reaches the package index through the host's
CA bundle. llama-cpp-python is not compiled in the image: `make image` takes the wheel from pip's
cache, where installing the project put it. Last, the generated shard Deployment itself runs under
`podman kube play` (its shared process namespace included), scraped by a real Prometheus, and
`observatory verify` finds every host-exporter series, the shard-process ones among them.

A machine where podman cannot run fails this test with podman's own words, never skips it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
import yaml

from observatory import dashboards
from observatory.catalogue import CATALOGUE
from observatory.config import DEFAULT_CONFIG
from observatory.manifests.workloads import shard_deployment
from observatory.metric import Source
from observatory.rules.mixin import rule_groups
from observatory.verify import verify
from support.processes import free_port, require_binary
from support.prometheus import running_prometheus

pytestmark = pytest.mark.slow
BASE = "localhost/themis-test-base:bookworm"
# The host's CA bundle: pip in the build trusts what the host trusts (a TLS-intercepting proxy included).
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
CONTAINERS_CONF = """\
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
runtime = "runc"
"""


def _run(argv: list[str], env: dict, timeout: float, what: str) -> str:
    result = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout)
    assert result.returncode == 0, f"{what} failed ({result.returncode}):\n{(result.stdout + result.stderr)[-4000:]}"
    return result.stdout


@pytest.fixture(scope="module")
def podman_env(tmp_path_factory) -> dict:
    conf = tmp_path_factory.mktemp("podman") / "containers.conf"
    conf.write_text(CONTAINERS_CONF)
    env = os.environ | {"CONTAINERS_CONF": str(conf)}
    require_binary("podman")
    result = subprocess.run(["podman", "info"], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, f"podman cannot run on this machine: {result.stderr.strip()[-2000:]}"
    return env


def _base_image(env: dict, workdir: Path) -> str:
    """Debian bookworm's minimal system with Python, imported as an image; made once per machine."""
    if subprocess.run(["podman", "image", "exists", BASE], env=env).returncode == 0:
        return BASE
    root = workdir / "rootfs"
    packages = "python3,python3-venv,ca-certificates,libgomp1"
    _run([require_binary("debootstrap"), "--variant=minbase", f"--include={packages}", "bookworm", str(root),
          "http://deb.debian.org/debian"], env, 900, "debootstrap")  # fmt: skip
    tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
    imported = subprocess.run(["podman", "import", "-", BASE], stdin=tar.stdout, capture_output=True, text=True,
                              env=env, timeout=300)  # fmt: skip
    tar.wait()
    assert imported.returncode == 0, f"podman import failed: {imported.stderr[-2000:]}"
    return BASE


@pytest.fixture(scope="module")
def image(podman_env, tmp_path_factory, repo_root) -> str:
    base = _base_image(podman_env, tmp_path_factory.mktemp("base"))
    tag = f"localhost/themis-observatory-test:{uuid.uuid4().hex[:8]}"
    flags = f"--network host -v {CA_BUNDLE}:{CA_BUNDLE}:ro --build-arg PIP_CERT={CA_BUNDLE}"
    _run(["make", "--no-print-directory", "image", f"IMAGE={tag}", f"BASE_IMAGE={base}", f"PYTHON={sys.executable}",
          f"IMAGE_BUILD_FLAGS={flags}"], podman_env | {"CONTAINER_ENGINE": "podman"}, 1500, "make image")  # fmt: skip
    yield tag
    subprocess.run(["podman", "rmi", "-f", tag], env=podman_env, capture_output=True)


def _inspect(env: dict, tag: str) -> dict:
    return json.loads(_run(["podman", "image", "inspect", tag], env, 60, "podman image inspect"))[0]


def test_the_image_runs_as_a_non_root_user_without_healthcheck_or_compilers(image, podman_env, repo_root):
    config = _inspect(podman_env, image)["Config"]
    assert config["User"] == "10001:10001"
    assert not config.get("Healthcheck")
    history = _run(["podman", "history", "--no-trunc", "--format", "{{.CreatedBy}}", image], podman_env, 60,
                   "podman history")  # fmt: skip
    # The runtime stage has no compilers (only the builder's environment came across), and the builder
    # installed llama-cpp-python from the wheel make image collected, not from its sources.
    assert "build-essential" not in history and " in /opt/themis" in history
    assert list((repo_root / "build" / "wheels" / "cpu").glob("llama_cpp_python-*.whl"))
    for script in ("observatory-shard", "observatory-orchestrator", "observatory-gpu-exporter",
                   "observatory-host-exporter"):  # fmt: skip
        out = _run(["podman", "run", "--rm", image, script, "--help"], podman_env, 120, f"{script} --help")
        assert "usage:" in out
    uid = _run(["podman", "run", "--rm", image, "python3", "-c", "import os; print(os.getuid())"], podman_env, 60,
               "id")  # fmt: skip
    assert uid.strip() == "10001"


def test_a_shard_from_the_image_is_ready_answers_an_inference_and_serves_metrics(image, podman_env):
    port, name = free_port(), f"themis-shard-{uuid.uuid4().hex[:8]}"
    argv = ["podman", "run", "-d", "--init", "--network", "host", "--name", name, image,
            "observatory-shard", "--domain", "legal", "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
    _run(argv, podman_env, 120, "podman run")
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            logs = subprocess.run(["podman", "logs", name], capture_output=True, text=True, env=podman_env)
            assert time.monotonic() < deadline, f"the shard was not ready:\n{(logs.stdout + logs.stderr)[-3000:]}"
            time.sleep(0.5)
        answer = httpx.post(f"{base}/api/v1/inference", json={"prompt": "A legal question", "max_tokens": 8},
                            timeout=120)  # fmt: skip
        assert answer.status_code == 200, answer.text
        assert answer.json()["completion_tokens"] > 0
        metrics = httpx.get(f"{base}/metrics", timeout=30).text
        assert 'themis_inference_requests_total{' in metrics
        started = time.monotonic()
        # --init forwards SIGTERM to the shard, which stops well inside podman's 10 s grace period.
        _run(["podman", "stop", "-t", "10", name], podman_env, 60, "podman stop")
        assert time.monotonic() - started < 8
    finally:
        subprocess.run(["podman", "rm", "-f", name], env=podman_env, capture_output=True)


def _rendered_pod(tag: str, workdir: Path) -> Path:
    """The generated shard Deployment as `podman kube play` takes it: the test's image, no GPU to ask for."""
    deployment = shard_deployment(DEFAULT_CONFIG, "legal")
    for container in deployment["spec"]["template"]["spec"]["containers"]:
        container["image"] = tag
        container["resources"]["limits"].pop("nvidia.com/gpu", None)
    path = workdir / "shard-legal.yaml"
    path.write_text(yaml.safe_dump(deployment))
    return path


def test_the_rendered_pod_under_podman_serves_every_host_exporter_series(image, podman_env, tmp_path):
    manifest = _rendered_pod(image, tmp_path)
    _run(["podman", "kube", "play", str(manifest)], podman_env, 300, "podman kube play")
    pod = "shard-legal-pod-0"
    try:
        infra = _run(["podman", "pod", "inspect", pod, "--format", "{{.InfraContainerID}}"], podman_env, 60,
                     "podman pod inspect").strip()  # fmt: skip
        address = _run(["podman", "inspect", infra, "--format",
                        "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}"], podman_env, 60,
                       "podman inspect").strip()  # fmt: skip
        ports = DEFAULT_CONFIG.ports
        jobs = {"themisdb-shards": [f"{address}:{ports.shard}"], "node-exporter": [f"{address}:{ports.host_exporter}"]}
        (tmp_path / "prometheus").mkdir()
        with running_prometheus(tmp_path / "prometheus", jobs) as prometheus:
            prometheus.wait_until('up{job="themisdb-shards"} == 1', timeout=180)
            for name in ("themis_shard_process_cpu_seconds_total", "themis_shard_process_resident_memory_bytes"):
                prometheus.wait_until(name, timeout=60)
            report = verify(prometheus.base_url, None, CATALOGUE, dashboards.dashboards(DEFAULT_CONFIG),
                            rule_groups(DEFAULT_CONFIG))  # fmt: skip
        host_series = {metric.name for metric in CATALOGUE.by_source(Source.HOST_EXPORTER)}
        assert not host_series & set(report.missing_metrics), report.missing_metrics
    finally:
        subprocess.run(["podman", "pod", "rm", "-f", "-t", "5", pod], env=podman_env, capture_output=True)
