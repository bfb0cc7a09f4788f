"""Injected faults (added latency, an error rate, unhealthiness) that make alerts fire on a live shard.

A fault is applied inside the shard's own timing, so added latency shows in the latency histograms
and injected errors are counted like any other server error.
"""

from __future__ import annotations

import asyncio

from pydantic import BaseModel, ConfigDict, Field

from observatory.runtime.errors import ShardError


class FaultSettings(BaseModel):
    """The faults in force; all off by default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    latency_seconds: float = Field(0.0, ge=0, le=60, description="Added to every inference and search request.")
    error_rate: float = Field(0.0, ge=0, le=1, description="Fraction of those requests answered with 500.")
    unhealthy: bool = Field(False, description="/health answers 503 and the health gauge reads 0.")


class FaultInjector:
    """Applies the current :class:`FaultSettings` to requests.

    Errors are spread evenly rather than drawn at random: with a rate of 0.25 exactly every fourth
    request fails, so a test sees the rate it asked for after a handful of requests.
    """

    def __init__(self) -> None:
        self.settings = FaultSettings()
        self._owed = 0.0

    def configure(self, settings: FaultSettings) -> None:
        """Replace the faults in force."""
        self.settings = settings
        self._owed = 0.0

    @property
    def unhealthy(self) -> bool:
        """Whether the shard must report itself unhealthy."""
        return self.settings.unhealthy

    async def before_request(self) -> None:
        """Wait out the added latency, then fail this request if the error rate says so."""
        if self.settings.latency_seconds:
            await asyncio.sleep(self.settings.latency_seconds)
        self._owed += self.settings.error_rate
        if self._owed >= 1:
            self._owed -= 1
            raise ShardError(500, "injected fault: this request was failed on purpose (see /admin/faults)")
