"""A local Themis stack on loopback: one shard per domain with its host and GPU exporters, the orchestrator,
and optionally Prometheus and Alertmanager watching them.

The stack is a list of :class:`Service` records (what to run, where it answers, what it waits for),
so a component (Prometheus, Alertmanager) is added as records. :class:`Stack` starts them in
order on free ports, waits until each is ready, and stops them all, last started first.
"""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from observatory.commandline import free_port
from observatory.config import ObservatoryConfig
from observatory.orchestrator.settings import DOMAIN_PATTERN
from observatory.stack_monitoring import plan_monitoring

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class Service:
    """One process of the stack: its command, the URL it serves and the path that answers 2xx when ready.

    ``pid_of`` names an earlier service whose process id is appended as ``--pid`` (the host exporter
    watches its shard's process).
    """

    name: str
    argv: tuple[str, ...]
    url: str
    ready_path: str
    pid_of: str | None = None


def _script(name: str) -> str:
    # The console scripts installed beside the running interpreter (the same virtual environment).
    return str(Path(sys.executable).with_name(name))


@dataclass(frozen=True)
class StackPlan:
    """The services to run and the orchestrator's configuration file they were planned with."""

    services: tuple[Service, ...]
    orchestrator_config: Path
    monitoring: ObservatoryConfig | None = None


def plan_stack(
    domains: Sequence[str],
    workdir: Path,
    *,
    exporters: bool = True,
    orchestrator_port: int | None = None,
    shard_config: Callable[[str], dict[str, Any]] = lambda _domain: {},
    gpu_exporter_flags: Sequence[str] = (),
    orchestrator_config: dict[str, Any] | None = None,
    monitoring: ObservatoryConfig | None = None,
    webhook_url: str | None = None,
    port: Callable[[], int] = free_port,
) -> StackPlan:
    """Services for one shard per domain (plus its exporters) and an orchestrator routing to them.

    Each domain's backup is the next domain's shard, so a failed shard's work has somewhere to go.
    Configuration files are written into ``workdir``; ``shard_config(domain)`` adds shard settings,
    ``gpu_exporter_flags`` are passed to every GPU exporter (an NVML substitute where there is no GPU).
    With ``monitoring`` (a configuration; needs ``exporters``) Alertmanager and Prometheus scrape the
    services and evaluate the rules generated from it, for the stack's domains; alerts go to ``webhook_url``.
    MonitoringError when their binaries are missing.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    services: list[Service] = []
    shard_urls: dict[str, str] = {}
    for domain in domains:
        shard_port = port()
        config = workdir / f"shard-{domain}.json"
        config.write_text(json.dumps(shard_config(domain)))
        url = f"http://{LOOPBACK}:{shard_port}"
        shard_urls[domain] = url
        shard = f"shard-{domain}"
        argv = (_script("observatory-shard"), "--domain", domain, "--port", str(shard_port), "--config", str(config))
        services.append(Service(shard, argv, url, "/startup"))
        if exporters:
            host_port, gpu_port = port(), port()
            services.append(Service(
                f"host-exporter-{domain}",
                (_script("observatory-host-exporter"), "--listen-address", LOOPBACK, "--port", str(host_port),
                 "--shard", domain, "--shard-port", str(shard_port)),
                f"http://{LOOPBACK}:{host_port}", "/metrics", pid_of=shard,
            ))  # fmt: skip
            services.append(Service(
                f"gpu-exporter-{domain}",
                (_script("observatory-gpu-exporter"), "--listen-address", LOOPBACK, "--port", str(gpu_port),
                 "--shard", domain, *gpu_exporter_flags),
                f"http://{LOOPBACK}:{gpu_port}", "/metrics",
            ))  # fmt: skip
    ring = list(domains)
    domains_config = {
        domain: {"primary": shard_urls[domain]}
        | ({"backups": [shard_urls[ring[(i + 1) % len(ring)]]]} if len(ring) > 1 else {})
        for i, domain in enumerate(ring)
    }
    settings = {"domains": domains_config, "store_url": f"sqlite:///{workdir / 'orchestrator.db'}"}
    settings |= orchestrator_config or {}
    config = workdir / "orchestrator.json"
    config.write_text(json.dumps(settings, indent=2))
    orchestrator_port = orchestrator_port or port()
    services.append(Service(
        "orchestrator",
        (_script("observatory-orchestrator"), "--config", str(config), "--port", str(orchestrator_port)),
        f"http://{LOOPBACK}:{orchestrator_port}", "/ready",
    ))  # fmt: skip
    if monitoring is None:
        return StackPlan(tuple(services), config)
    urls = {service.name: service.url for service in services}
    monitors = plan_monitoring(
        dataclasses.replace(monitoring, shards=tuple(domains)), urls, workdir, webhook_url=webhook_url, port=port
    )
    for name, (argv, url) in (("alertmanager", monitors.alertmanager), ("prometheus", monitors.prometheus)):
        services.append(Service(name, argv, url, "/-/ready"))
    return StackPlan(tuple(services), config, monitors.config)


class StackError(RuntimeError):
    """A service of the stack exited or did not become ready."""


@dataclass
class Stack:
    """Runs a plan's services; :meth:`stop` ends them all, last started first."""

    services: Sequence[Service]
    workdir: Path
    ready_timeout: float = 120.0
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    _logs: list[TextIO] = field(default_factory=list)

    def start(self, announce: Callable[[Service], None] = lambda _service: None) -> None:
        """Start every service in order, each once the previous is ready; StackError and nothing left running
        if one fails."""
        try:
            for service in self.services:
                self._launch(service)
                announce(service)
        except BaseException:
            self.stop()
            raise

    def _launch(self, service: Service) -> None:
        argv = list(service.argv)
        if service.pid_of is not None:
            argv += ["--pid", str(self.processes[service.pid_of].pid)]
        log = (self.workdir / f"{service.name}.log").open("ab")
        self._logs.append(log)
        # A session of its own: Ctrl-C reaches the stack, which stops the services in order.
        self.processes[service.name] = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self._wait_ready(service)

    def restart(self, name: str) -> None:
        """Start service ``name`` again, on its address, after it exited (or end it first); wait until ready."""
        process = self.processes[name]
        if process.poll() is None:
            process.terminate()
            process.wait()
        self._launch(next(service for service in self.services if service.name == name))

    def _wait_ready(self, service: Service) -> None:
        process = self.processes[service.name]
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise StackError(f"{service.name} exited with {process.returncode}; see {service.name}.log")
            try:
                with urllib.request.urlopen(service.url + service.ready_path, timeout=2) as response:
                    if response.status < 300:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise StackError(f"{service.name} was not ready within {self.ready_timeout:.0f} s; see {service.name}.log")

    def exited(self) -> list[str]:
        """Services whose process has ended."""
        return [name for name, process in self.processes.items() if process.poll() is not None]

    def stop(self, timeout: float = 15.0) -> dict[str, int]:
        """SIGTERM every process, last started first, kill any that outlive ``timeout``; their exit codes."""
        codes = {}
        for name, process in reversed(list(self.processes.items())):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            codes[name] = process.returncode
        for log in self._logs:
            log.close()
        return codes


def parse_domains(text: str) -> list[str]:
    """``legal,finance`` as a list of distinct domain names; ValueError naming the problem."""
    domains = [part.strip() for part in text.split(",")]
    if not all(re.match(DOMAIN_PATTERN, domain) for domain in domains):
        raise ValueError("--shards: give comma-separated domain names (lower-case letters, digits, _ or -)")
    if len(set(domains)) != len(domains):
        raise ValueError("--shards: a domain is named twice")
    return domains

