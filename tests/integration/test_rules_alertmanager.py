"""The SLO tiers' inhibit rules, loaded into a real Alertmanager, keep a slower tier quiet."""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest

from observatory.config import DEFAULT_CONFIG
from observatory.rules.mixin import rule_groups
from observatory.rules.runbooks import inhibit_rules
from support.prometheus import running_alertmanager


def _burn_alerts() -> dict[str, dict[str, str]]:
    """Labels of each shipped availability burn-rate alert, by tier, as Prometheus would send them."""
    alerts = [
        alert for group in rule_groups(DEFAULT_CONFIG) for alert in group.alerts if dict(alert.labels).get("tier")
    ]
    series = {"slo": "availability", "shard": "legal"}
    return {
        dict(alert.labels)["tier"]: {"alertname": alert.name, **dict(alert.all_labels), **series}
        for alert in alerts
        if "Availability" in alert.name
    }


def _post(url: str, body: object) -> None:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST", headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


@pytest.mark.slow
def test_a_faster_tier_inhibits_the_slower_ones_of_the_same_slo(tmp_path: Path) -> None:
    all_alerts = [alert for group in rule_groups(DEFAULT_CONFIG) for alert in group.alerts]
    config = {
        "route": {"receiver": "null", "group_by": ["alertname"], "group_wait": "0s", "group_interval": "1s"},
        "receivers": [{"name": "null"}],
        "inhibit_rules": inhibit_rules(all_alerts),
    }
    with running_alertmanager(tmp_path, config) as (process, base):
        tiers = _burn_alerts()
        assert set(tiers) == {"1h", "6h", "1d", "3d"}
        # The slowest tier of another shard must stay active: inhibition is per SLO and shard.
        firing = [*tiers.values(), {**tiers["3d"], "shard": "finance"}]
        starts = datetime.now(UTC).isoformat()
        _post(f"{base}/api/v2/alerts", [{"labels": labels, "startsAt": starts} for labels in firing])
        expected = {
            ("1h", "legal"): "active",
            ("6h", "legal"): "suppressed",
            ("1d", "legal"): "suppressed",
            ("3d", "legal"): "suppressed",
            ("3d", "finance"): "active",
        }
        deadline = time.monotonic() + 20
        while True:
            with urllib.request.urlopen(f"{base}/api/v2/alerts", timeout=10) as response:
                alerts = json.load(response)
            states = {(a["labels"]["tier"], a["labels"]["shard"]): a["status"]["state"] for a in alerts}
            if states == expected or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert states == expected, process.log()
