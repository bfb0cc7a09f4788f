"""Seed 000's Kubernetes probes for a shard, exactly as the seed sets them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Probe:
    """One HTTP probe; ``None`` fields are left to Kubernetes' defaults, as the seed leaves them."""

    path: str
    initial_delay_seconds: int
    period_seconds: int
    timeout_seconds: int
    failure_threshold: int
    success_threshold: int | None = None

    def as_dict(self, port: int) -> dict[str, Any]:
        """The probe as a container spec writes it."""
        data: dict[str, Any] = {
            "httpGet": {"path": self.path, "port": port},
            "initialDelaySeconds": self.initial_delay_seconds,
            "periodSeconds": self.period_seconds,
            "timeoutSeconds": self.timeout_seconds,
        }
        if self.success_threshold is not None:
            data["successThreshold"] = self.success_threshold
        data["failureThreshold"] = self.failure_threshold
        return data


# Liveness waits out model loading; startup allows 30 x 10 s = 5 minutes before the first liveness check.
SHARD_LIVENESS = Probe("/health", initial_delay_seconds=60, period_seconds=10, timeout_seconds=5, failure_threshold=3)
SHARD_READINESS = Probe(
    "/ready", initial_delay_seconds=90, period_seconds=5, timeout_seconds=3, success_threshold=1, failure_threshold=3
)
SHARD_STARTUP = Probe("/startup", initial_delay_seconds=10, period_seconds=10, timeout_seconds=5, failure_threshold=30)


def shard_probes(port: int) -> dict[str, dict[str, Any]]:
    """The three probes of a shard container, keyed as the container spec names them."""
    return {
        "livenessProbe": SHARD_LIVENESS.as_dict(port),
        "readinessProbe": SHARD_READINESS.as_dict(port),
        "startupProbe": SHARD_STARTUP.as_dict(port),
    }


# The orchestrator loads no model: it is live and ready within seconds, so no start-up allowance.
ORCHESTRATOR_LIVENESS = Probe(
    "/health", initial_delay_seconds=5, period_seconds=10, timeout_seconds=5, failure_threshold=3
)
ORCHESTRATOR_READINESS = Probe(
    "/ready", initial_delay_seconds=5, period_seconds=5, timeout_seconds=3, success_threshold=1, failure_threshold=3
)


def orchestrator_probes(port: int) -> dict[str, dict[str, Any]]:
    """Liveness and readiness of an orchestrator container."""
    return {
        "livenessProbe": ORCHESTRATOR_LIVENESS.as_dict(port),
        "readinessProbe": ORCHESTRATOR_READINESS.as_dict(port),
    }
