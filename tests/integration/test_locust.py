"""The shipped Locust file, run headless as seed 002 runs it, against a real shard."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from observatory.loadgen.profiles import PROFILES, SHARD
from support.runtime import ADMIN_TOKEN, model_cache, request_json, running_shard

pytestmark = pytest.mark.slow
LOADGEN = str(Path(sys.executable).with_name("observatory-loadgen"))
LOCUST = str(Path(sys.executable).with_name("locust"))


def _locust(host: str, workdir: Path, seconds: int = 6) -> tuple[int, dict[str, dict[str, str]], str]:
    """Exit code, Locust's stats rows by request name, and its output."""
    locustfile = subprocess.run([LOADGEN, "locustfile"], capture_output=True, text=True, check=True).stdout.strip()
    argv = [LOCUST, "-f", locustfile, "--headless", "-u", "4", "-r", "4", "-t", f"{seconds}s", "--host", host,
            "--themis-rate", "2", "--csv", str(workdir / "locust"), "--only-summary"]  # fmt: skip
    result = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
    with (workdir / "locust_stats.csv").open() as stats:
        rows = {row["Name"]: row for row in csv.DictReader(stats)}
    return result.returncode, rows, result.stdout + result.stderr


def test_every_request_type_of_the_mixed_profile_succeeds_against_a_shard(tmp_path, tmp_path_factory):
    with running_shard(model_cache(tmp_path_factory), tmp_path) as (_, base):
        code, rows, output = _locust(base, tmp_path)
    # The generated shard offers LoRA adapters, so every request type of the shard's mix is sent.
    expected = set(PROFILES["mixed"][SHARD])
    assert expected <= set(rows), output
    for kind in expected:
        assert int(rows[kind]["Request Count"]) > 0, output
        assert int(rows[kind]["Failure Count"]) == 0, output
    assert code == 0, output


def test_failing_requests_are_counted_and_fail_the_run(tmp_path, tmp_path_factory):
    with running_shard(model_cache(tmp_path_factory), tmp_path, admin_token=ADMIN_TOKEN) as (_, base):
        status, _ = request_json("PUT", f"{base}/admin/faults", {"error_rate": 1.0},
                                 {"authorization": f"Bearer {ADMIN_TOKEN}"})  # fmt: skip
        assert status == 200
        code, rows, output = _locust(base, tmp_path, seconds=4)
    aggregated = rows["Aggregated"]
    assert int(aggregated["Failure Count"]) > 0, output
    assert code == 1, output
