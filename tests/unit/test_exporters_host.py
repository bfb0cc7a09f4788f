"""The host collector on real psutil, and with psutil calls that raise."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections import namedtuple
from types import SimpleNamespace

import psutil
import pytest
from prometheus_client import CollectorRegistry

from observatory.catalogue import CATALOGUE
from observatory.catalogue.host import INTERFACE
from observatory.exporters.host_collector import HostCollector
from observatory.exporters.shard_process import find_program, runs_program
from observatory.exporters.tcp_diag import established_connections
from observatory.metric import Source

SHARD = "finance"


def scrape(collector: HostCollector) -> dict[tuple[str, frozenset], float]:
    registry = CollectorRegistry()
    registry.register(collector)
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in registry.collect()
        for sample in family.samples
    }


def value(samples: dict, name: str, /, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


class RaisingPsutil:
    """Real psutil, except that the named functions raise what ``failures`` maps them to."""

    def __init__(self, **failures: Exception) -> None:
        self._failures = failures

    def __getattr__(self, name: str):
        if name in self._failures:
            error = self._failures[name]

            def fail(*args, **kwargs):
                raise error

            return fail
        return getattr(psutil, name)


@pytest.fixture
def shard_port():
    """A listening socket with two established client connections, like a shard serving two requests."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
        accepted = [server.accept()[0] for _ in clients]
        yield port
        for sock in clients + accepted:
            sock.close()


def test_reads_the_host_and_the_shard_process(shard_port):
    samples = scrape(HostCollector(psutil, SHARD, pid=os.getpid(), port=shard_port))
    assert value(samples, "themis_cpus", shard=SHARD) == psutil.cpu_count()
    assert value(samples, "themis_cpu_seconds_total", shard=SHARD, mode="idle") > 0
    total = value(samples, "themis_ram_total_bytes", shard=SHARD)
    assert 0 < value(samples, "themis_ram_usage_bytes", shard=SHARD) < total
    assert value(samples, "themis_network_received_bytes_total", shard=SHARD, interface="lo") > 0
    # This process holds both ends of each connection; only the accepted ends are on the shard port.
    assert value(samples, "themis_active_connections", shard=SHARD) == 2
    assert value(samples, "themis_shard_process_resident_memory_bytes", shard=SHARD) > 0
    assert value(samples, "themis_shard_process_cpu_seconds_total", shard=SHARD) > 0
    for collector in ("cpu", "memory", "network", "connections", "process"):
        assert value(samples, "themis_exporter_collector_up", collector=collector) == 1


def test_connections_without_a_pid_are_counted_system_wide(shard_port):
    samples = scrape(HostCollector(psutil, SHARD, port=shard_port))
    assert value(samples, "themis_active_connections", shard=SHARD) == 2


def test_describe_names_exactly_the_catalogue_families_of_the_host_exporter():
    described = {family.name for family in HostCollector(psutil, SHARD).describe()}
    # prometheus_client names a counter family without its _total suffix.
    assert described == {m.name.removesuffix("_total") for m in CATALOGUE.by_source(Source.HOST_EXPORTER)}


def test_without_pid_and_port_those_parts_are_not_collected():
    samples = scrape(HostCollector(psutil, SHARD))
    names = {name for name, _ in samples}
    assert "themis_active_connections" not in names
    assert "themis_shard_process_resident_memory_bytes" not in names
    assert value(samples, "themis_exporter_collector_up", collector="process") is None
    assert value(samples, "themis_exporter_collector_up", collector="cpu") == 1


def test_a_raising_call_drops_only_its_collector():
    samples = scrape(HostCollector(RaisingPsutil(virtual_memory=OSError("meminfo unreadable")), SHARD))
    assert value(samples, "themis_ram_total_bytes", shard=SHARD) is None
    assert value(samples, "themis_ram_usage_bytes", shard=SHARD) is None
    assert value(samples, "themis_exporter_collection_errors_total", collector="memory", reason="error") == 1
    assert value(samples, "themis_exporter_collector_up", collector="memory") == 0
    assert value(samples, "themis_cpus", shard=SHARD) == psutil.cpu_count()
    assert value(samples, "themis_exporter_collector_up", collector="cpu") == 1
    assert value(samples, "themis_exporter_collector_up", collector="network") == 1


def test_errors_accumulate_across_scrapes():
    collector = HostCollector(RaisingPsutil(net_io_counters=psutil.AccessDenied()), SHARD)
    scrape(collector)
    samples = scrape(collector)
    assert value(samples, "themis_exporter_collection_errors_total", collector="network", reason="error") == 2


def test_a_vanished_pid_is_a_collection_error():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    samples = scrape(HostCollector(psutil, SHARD, pid=child.pid))
    assert value(samples, "themis_shard_process_resident_memory_bytes", shard=SHARD) is None
    assert value(samples, "themis_exporter_collection_errors_total", collector="process", reason="not_found") == 1
    assert value(samples, "themis_cpus", shard=SHARD) == psutil.cpu_count()


def test_interfaces_beyond_the_bound_fold_into_other():
    nic = namedtuple("nic", "bytes_sent bytes_recv")
    count = INTERFACE.bound + 4
    counters = {f"veth{i:02d}": nic(10, 1) for i in range(count)}
    fake = SimpleNamespace(**{name: getattr(psutil, name) for name in ("cpu_times", "cpu_count", "virtual_memory")})
    fake.net_io_counters = lambda pernic: counters
    fake.NoSuchProcess = psutil.NoSuchProcess
    samples = scrape(HostCollector(fake, SHARD))
    sent = {
        dict(labels)["interface"]: v
        for (name, labels), v in samples.items()
        if name == "themis_network_sent_bytes_total"
    }
    assert len(sent) == INTERFACE.bound
    assert sent["other"] == 10 * (count - INTERFACE.bound + 1)
    assert sum(sent.values()) == 10 * count


def test_netlink_counter_agrees_with_psutil(shard_port):
    assert established_connections(shard_port) == 2
    samples = scrape(HostCollector(psutil, SHARD, port=shard_port, count_connections=established_connections))
    assert value(samples, "themis_active_connections", shard=SHARD) == 2


def test_netlink_counter_sees_ipv6():
    with socket.create_server(("::1", 0), family=socket.AF_INET6) as server:
        port = server.getsockname()[1]
        with socket.create_connection(("::1", port)), server.accept()[0]:
            assert established_connections(port) == 1
        # Both ends closed: nothing established any more.
        assert established_connections(port) == 0


@pytest.mark.parametrize(
    ("cmdline", "runs"),
    [
        (["/opt/venv/bin/observatory-shard", "--domain", "legal"], True),
        (["/opt/venv/bin/python3", "/opt/venv/bin/observatory-shard", "--domain", "legal"], True),
        (["python3.11", "observatory-shard"], True),
        # Naming the program in an argument is not running it.
        (["grep", "observatory-shard"], False),
        (
            [
                "/opt/venv/bin/python3",
                "/opt/venv/bin/observatory-host-exporter",
                "--shard-program",
                "observatory-shard",
            ],
            False,
        ),
        (["/opt/venv/bin/python3", "-m", "observatory-shard"], False),
        ([], False),
    ],
)
def test_a_process_runs_the_shard_program_by_its_first_words(cmdline, runs):
    assert runs_program(cmdline, "observatory-shard") is runs


def _listed(pid: int, cmdline: list[str], created: float) -> SimpleNamespace:
    return SimpleNamespace(pid=pid, info={"cmdline": cmdline, "create_time": created})


def test_the_oldest_process_running_the_program_is_the_shard():
    listed = [
        _listed(30, ["python3", "/venv/bin/observatory-shard"], 200.0),
        _listed(20, ["python3", "/venv/bin/observatory-shard"], 100.0),
        _listed(10, ["sh"], 50.0),
        # A process that cannot be read lists None for its command line.
        _listed(5, None, 10.0),
    ]
    fake = SimpleNamespace(process_iter=lambda attrs: iter(listed), NoSuchProcess=psutil.NoSuchProcess)
    assert find_program(fake, "observatory-shard").pid == 20
    fake.process_iter = lambda attrs: iter(listed[2:])
    with pytest.raises(psutil.NoSuchProcess, match="no process runs observatory-shard"):
        find_program(fake, "observatory-shard")


def test_without_a_shard_process_the_process_part_is_a_not_found_error():
    samples = scrape(HostCollector(psutil, SHARD, program="no-such-program-runs-here"))
    assert value(samples, "themis_shard_process_resident_memory_bytes", shard=SHARD) is None
    assert value(samples, "themis_exporter_collection_errors_total", collector="process", reason="not_found") == 1
    assert value(samples, "themis_exporter_collector_up", collector="process") == 0
