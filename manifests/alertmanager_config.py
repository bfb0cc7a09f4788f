"""alertmanager.yml: routes by severity to a webhook, and the SLO burn-rate inhibit rules."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from observatory.config import ObservatoryConfig
from observatory.rules.model import Group
from observatory.rules.runbooks import inhibit_rules

RECEIVER = "webhook"


def alertmanager_config(config: ObservatoryConfig, groups: Sequence[Group]) -> dict[str, Any]:
    """The whole alertmanager.yml: critical alerts repeat hourly, warnings every four hours."""
    alerts = [alert for group in groups for alert in group.alerts]
    webhook = config.alertmanager.webhook_url
    return {
        "route": {
            "receiver": RECEIVER,
            # With one Alertmanager for several clusters (each Prometheus adds its external label `cluster`), an
            # alert of one cluster must not wait for, or be told in, the notification of another's group.
            "group_by": ["alertname", "cluster", "shard", "slo"],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "4h",
            "routes": [
                {
                    "receiver": RECEIVER,
                    "matchers": ['severity="critical"'],
                    "group_wait": "10s",
                    "repeat_interval": "1h",
                },
                {"receiver": RECEIVER, "matchers": ['severity="warning"']},
            ],
        },
        "inhibit_rules": inhibit_rules(alerts),
        "receivers": [{"name": RECEIVER, "webhook_configs": [{"url": webhook, "send_resolved": True}]}],
    }
