"""How ``observatory up`` restarts a service that died: the kubelet's back-off for a crashing container.

The first restart waits ``initial_delay``, each consecutive one twice as long up to ``max_delay``, and
a service that ran ``reset_after`` seconds before it died starts again from the first delay.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RestartPolicy:
    """When a dead service is started again; ``enabled=False`` only reports deaths."""

    enabled: bool = True
    initial_delay: float = 10.0
    max_delay: float = 300.0
    reset_after: float = 600.0
    give_up_after: int = 5

    def delay(self, crashes: int) -> float:
        """The wait before the restart that follows ``crashes`` consecutive deaths (1 or more)."""
        return min(self.max_delay, self.initial_delay * 2 ** (crashes - 1))
