"""Locust's rate on an endpoint, for the ceiling suite: the shipped Locust file, FastHttpUser, one process.

Locust is closed loop: each user sends its next request when the last is answered, so its rate is the
most its users get through, as wrk's is; without a pause between requests that is Locust's ceiling.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

LOCUST_USERS = 32


def locust_rate(url: str, seconds: float, users: int = LOCUST_USERS) -> float:
    """Requests per second Locust's users get from ``url`` with no pause between requests."""
    binary = shutil.which("locust", path=str(Path(sys.executable).parent)) or shutil.which("locust")
    if binary is None:
        raise RuntimeError("locust is not installed (the test extra installs it)")
    locustfile = Path(__file__).with_name("locustfile.py")
    with tempfile.TemporaryDirectory() as scratch:
        prefix = Path(scratch) / "locust"
        # Every user is spawned at once: a ramp would lower the rate of a short run.
        argv = [binary, "-f", str(locustfile), "--headless", "-u", str(users), "-r", str(users),
                "-t", f"{max(1, round(seconds))}s", "--host", url.rstrip("/"), "--themis-profile", "get",
                "--themis-rate", "0", "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING"]  # fmt: skip
        subprocess.run(argv, capture_output=True, text=True, check=True, timeout=seconds + 60)
        with prefix.with_name("locust_stats.csv").open() as stats:
            aggregated = next(row for row in csv.DictReader(stats) if row["Name"] == "Aggregated")
    if int(aggregated["Failure Count"]):
        raise RuntimeError(f"locust saw {aggregated['Failure Count']} failures from {url}")
    return float(aggregated["Requests/s"])
