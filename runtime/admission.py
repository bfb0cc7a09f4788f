"""Backpressure: at most N API requests in flight; beyond that 429 with ``Retry-After``."""

from __future__ import annotations

import json
import threading

from starlette.types import ASGIApp, Receive, Scope, Send

from observatory.catalogue.shard import ENDPOINT
from observatory.metric import OTHER
from observatory.runtime.errors import error_body

API_PREFIX = "/api/v1/"


class InFlightLimiter:
    """Counts requests in flight against a fixed capacity; thread-safe."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._count = 0
        self._lock = threading.Lock()

    @property
    def in_flight(self) -> int:
        """Requests admitted and not yet finished."""
        return self._count

    @property
    def saturated(self) -> bool:
        """Whether the next request would be refused."""
        return self._count >= self.capacity

    def try_acquire(self) -> bool:
        """Take a slot if one is free."""
        with self._lock:
            if self._count >= self.capacity:
                return False
            self._count += 1
        return True

    def release(self) -> None:
        """Give a slot back."""
        with self._lock:
            self._count -= 1


def endpoint_of(path: str) -> str:
    """The ``endpoint`` label value for an API path: its first segment after the prefix, if the catalogue lists it."""
    segment = path.removeprefix(API_PREFIX).split("/", 1)[0]
    return segment if segment in ENDPOINT.values else OTHER


class Admission:
    """ASGI middleware admitting API requests through an :class:`InFlightLimiter`.

    Probes, ``/metrics`` and admin calls bypass it, so a saturated shard still answers them.
    """

    def __init__(self, app: ASGIApp, limiter: InFlightLimiter, retry_after_s: int) -> None:
        self.app = app
        self._limiter = limiter
        self._retry_after = str(retry_after_s).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        if not self._limiter.try_acquire():
            body = json.dumps(error_body("the shard is at capacity; retry later")).encode()
            headers = [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", self._retry_after),
            ]
            await send({"type": "http.response.start", "status": 429, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self._limiter.release()
