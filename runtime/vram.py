"""The VRAM budget: GPU profiles and the licence manager that refuses loads beyond the budget."""

from __future__ import annotations

import threading

GIB = 1024**3
# Seed 002's deterministic loader profiles; seed 000's licence manager example uses 24 GiB.
GPU_PROFILES = {
    "gtx_1080": 7 * GIB,
    "rtx_4070": int(10.5 * GIB),
    "rtx_4090": 24 * GIB,
}


class VRAMLimitError(Exception):
    """A reservation would take the shard past its VRAM budget."""

    def __init__(self, owner: str, requested: int, reserved: int, limit: int) -> None:
        super().__init__(
            f"{owner} needs {requested} bytes but only {max(limit - reserved, 0)} bytes"
            f" of the {limit}-byte VRAM budget are free"
        )
        self.owner = owner
        # The request's field at fault: the name of what is loaded, unless a request's adapters are.
        self.field = "name"
        self.requested = requested
        self.reserved = reserved
        self.limit = limit


class VRAMLicenseManager:
    """Tracks reservations against a fixed budget (seed 000's ``VRAMLicenseManager``); thread-safe."""

    def __init__(self, limit_bytes: int) -> None:
        self.limit_bytes = limit_bytes
        self._reservations: dict[str, int] = {}
        self._lock = threading.Lock()

    @property
    def reserved_bytes(self) -> int:
        """Bytes reserved now."""
        with self._lock:
            return sum(self._reservations.values())

    def can_use(self, size: int) -> bool:
        """Whether ``size`` more bytes fit in the budget (exactly at the limit fits)."""
        return self.reserved_bytes + size <= self.limit_bytes

    def enforce(self, size: int, owner: str = "request") -> None:
        """Raise :class:`VRAMLimitError` unless ``size`` more bytes fit."""
        reserved = self.reserved_bytes
        if reserved + size > self.limit_bytes:
            raise VRAMLimitError(owner, size, reserved, self.limit_bytes)

    def reserve(self, owner: str, size: int) -> None:
        """Reserve ``size`` bytes for ``owner``, or raise :class:`VRAMLimitError` and reserve nothing."""
        with self._lock:
            reserved = sum(self._reservations.values())
            if reserved + size > self.limit_bytes:
                raise VRAMLimitError(owner, size, reserved, self.limit_bytes)
            self._reservations[owner] = self._reservations.get(owner, 0) + size

    def release(self, owner: str) -> None:
        """Give back everything ``owner`` reserved."""
        with self._lock:
            self._reservations.pop(owner, None)
