"""The SLO tiers' inhibit rules, loaded into a real Alertmanager, keep a slower tier quiet."""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest

from observatory.config import DEFAULT_CONFIG, config_from_mapping
from observatory.manifests.alertmanager_config import alertmanager_config
from observatory.rules.mixin import rule_groups
from observatory.rules.runbooks import inhibit_rules
from support.prometheus import running_alertmanager
from support.webhook import running_webhook


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
        errors = {"alertname": "ThemisInferenceErrorsCritical", "severity": "critical"}
        firing = [
            *tiers.values(),
            {**tiers["3d"], "shard": "finance"},
            # The error-ratio alert duplicates the burn-rate page for its shard only.
            {**errors, "shard": "legal"},
            {**errors, "shard": "finance"},
        ]
        starts = datetime.now(UTC).isoformat()
        _post(f"{base}/api/v2/alerts", [{"labels": labels, "startsAt": starts} for labels in firing])
        expected = {
            ("1h", "legal"): "active",
            ("6h", "legal"): "suppressed",
            ("1d", "legal"): "suppressed",
            ("3d", "legal"): "suppressed",
            ("3d", "finance"): "active",
            ("ThemisInferenceErrorsCritical", "legal"): "suppressed",
            ("ThemisInferenceErrorsCritical", "finance"): "active",
        }
        deadline = time.monotonic() + 20
        while True:
            with urllib.request.urlopen(f"{base}/api/v2/alerts", timeout=10) as response:
                alerts = json.load(response)
            states = {
                (a["labels"].get("tier", a["labels"]["alertname"]), a["labels"]["shard"]): a["status"]["state"]
                for a in alerts
            }
            if states == expected or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert states == expected, process.log()


@pytest.mark.slow
def test_the_generated_alertmanager_yml_notifies_the_webhook_of_the_fastest_tier_only(tmp_path: Path) -> None:
    with running_webhook() as webhook:
        config = config_from_mapping({"alertmanager": {"webhook_url": webhook.url}})
        with running_alertmanager(tmp_path, alertmanager_config(config, rule_groups(config))) as (process, base):
            tiers = _burn_alerts()
            starts = datetime.now(UTC).isoformat()
            _post(f"{base}/api/v2/alerts", [{"labels": tiers[tier], "startsAt": starts} for tier in ("1h", "6h")])
            # Critical alerts wait group_wait (10 s) before the first notification.
            deadline = time.monotonic() + 40
            while not webhook.received and time.monotonic() < deadline:
                time.sleep(0.2)
            assert webhook.received, process.log()
            # Both tiers' groups were due together: a notification for the inhibited tier would arrive now.
            time.sleep(3)
    [notification] = webhook.received
    assert notification["receiver"] == "webhook" and notification["status"] == "firing"
    assert [alert["labels"]["tier"] for alert in notification["alerts"]] == ["1h"]
