"""Admission: a bounded FIFO queue in front of the shard's work, and the ASGI middleware that applies it.

Up to ``slots`` API requests run at once; the next ones wait in line for a slot instead of being
refused. A request is refused (429 with ``Retry-After``) only when the line is full or its expected
wait exceeds the bound; a request whose client hangs up while waiting leaves the line; when the
shard shuts down, every request still waiting is answered 503 instead of being left hanging.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import deque

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from observatory.catalogue.shard import ENDPOINT
from observatory.metric import OTHER
from observatory.runtime.errors import error_response
from observatory.runtime.openai_errors import OPENAI_PREFIX

API_PREFIX = "/api/v1/"
# OpenAI-compatible paths and the operation each is counted as; the model listing is no work and, like
# the probes, is answered at once.
OPENAI_ENDPOINTS = {"chat/completions": "inference", "completions": "inference", "embeddings": OTHER}
# Weight of the newest request in the running mean of slot hold times that predicts a wait.
HOLD_SMOOTHING = 0.2


class RefusedError(Exception):
    """A request the queue will not take: ``status`` 429 (busy) or 503 (shutting down)."""

    def __init__(self, status: int, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after_s = retry_after_s


class AdmissionQueue:
    """``slots`` holders at a time and at most ``max_waiting`` in line, first come first served.

    Used only from the event loop, so it needs no lock; nothing here blocks.
    """

    def __init__(self, slots: int, max_waiting: int, max_wait_s: float, retry_after_s: int) -> None:
        self.capacity = slots
        self.max_waiting = max_waiting
        self.max_wait_s = max_wait_s
        self.retry_after_s = retry_after_s
        self._running = 0
        self._line: deque[asyncio.Future[None]] = deque()
        self._mean_hold_s = 0.0
        self._closed: str | None = None

    @property
    def in_flight(self) -> int:
        """Requests holding a slot."""
        return self._running

    @property
    def waiting(self) -> int:
        """Requests in line for a slot."""
        return len(self._line)

    @property
    def full(self) -> bool:
        """Whether the next request would be refused for want of room."""
        return self._running >= self.capacity and len(self._line) >= self.max_waiting

    def expected_wait_s(self, position: int) -> float:
        """The predicted wait of the ``position``-th in line (1 = next): by Little's law, slots free up at
        ``capacity / mean hold`` per second."""
        return position * self._mean_hold_s / self.capacity

    def try_enter(self) -> bool:
        """Take a free slot at once if nobody is waiting for one."""
        if self._closed is None and self._running < self.capacity and not self._line:
            self._running += 1
            return True
        return False

    async def enter(self) -> float:
        """Wait in line for a slot; returns the seconds waited, or raises :class:`RefusedError`."""
        if self._closed is not None:
            raise RefusedError(503, self._closed, self.retry_after_s)
        if self.try_enter():
            return 0.0
        if len(self._line) >= self.max_waiting:
            raise RefusedError(429, "the shard is at capacity and its queue is full; retry later", self._retry_after())
        expected = self.expected_wait_s(len(self._line) + 1)
        if expected > self.max_wait_s:
            message = f"the expected wait ({expected:.0f} s) exceeds the queue's bound; retry later"
            raise RefusedError(429, message, self._retry_after())
        started = time.perf_counter()
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._line.append(turn)
        try:
            async with asyncio.timeout(self.max_wait_s):
                await turn  # a slot, or RefusedError when the shard closes the line
        except TimeoutError:
            self._leave(turn)
            message = "no slot came free within the queue's bound; retry later"
            raise RefusedError(429, message, self._retry_after()) from None
        except asyncio.CancelledError:  # the client hung up, or the server stops
            self._leave(turn)
            raise
        return time.perf_counter() - started

    def release(self, held_s: float | None = None) -> None:
        """Give a slot back (held for ``held_s``, which updates the wait prediction) to the next in line."""
        if held_s is not None:
            self._mean_hold_s += HOLD_SMOOTHING * (held_s - self._mean_hold_s)
        while self._line:
            turn = self._line.popleft()
            if not turn.done():
                turn.set_result(None)  # the slot passes on: the count of holders stays the same
                return
        self._running -= 1

    def close(self, message: str) -> None:
        """Refuse new requests and answer every waiting one with 503 ``message`` (the first one given)."""
        self._closed = self._closed or message
        while self._line:
            turn = self._line.popleft()
            if not turn.done():
                turn.set_exception(RefusedError(503, self._closed, self.retry_after_s))

    def _leave(self, turn: asyncio.Future[None]) -> None:
        if turn.done() and not turn.cancelled() and turn.exception() is None:
            self.release()  # the slot arrived as the wait ended: pass it on
        else:
            turn.cancel()
            with contextlib.suppress(ValueError):
                self._line.remove(turn)

    def _retry_after(self) -> int:
        # Long enough for the line ahead to move by one place, and never less than the configured pause.
        return max(self.retry_after_s, math.ceil(self.expected_wait_s(1)))


class ClientLeftError(Exception):
    """The client hung up while its request waited in line."""


def is_api(scope: Scope) -> bool:
    """Whether ``scope`` is a request to the shard's work: the native API, or the OpenAI-compatible one."""
    if scope["type"] != "http":
        return False
    path = scope["path"]
    return path.startswith(API_PREFIX) or path.removeprefix(OPENAI_PREFIX) in OPENAI_ENDPOINTS


def endpoint_of(path: str) -> str:
    """The ``endpoint`` label value for an API path: its first segment after the prefix, if the catalogue lists
    it, or the operation an OpenAI-compatible path stands for."""
    if not path.startswith(API_PREFIX):
        return OPENAI_ENDPOINTS.get(path.removeprefix(OPENAI_PREFIX), OTHER)
    segment = path.removeprefix(API_PREFIX).split("/", 1)[0]
    return segment if segment in ENDPOINT.values else OTHER


def arrival_of(scope: Scope) -> float | None:
    """When :class:`Admission` saw the request arrive (``time.perf_counter()``), before it waited in line."""
    return scope.get("state", {}).get(ARRIVED)


ARRIVED = "themis_arrived"


class Admission:
    """ASGI middleware admitting API requests through an :class:`AdmissionQueue`.

    Probes, ``/metrics`` and admin calls bypass it, so a saturated shard still answers them at once.
    While a request waits, its body is read ahead (and replayed to the app later) so that a hang-up
    is seen and the request leaves the line.
    """

    def __init__(self, app: ASGIApp, queue: AdmissionQueue) -> None:
        self.app = app
        self._queue = queue

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not is_api(scope):
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})[ARRIVED] = time.perf_counter()
        buffered: list[Message] = []
        if not self._queue.try_enter():
            try:
                await self._wait_in_line(receive, buffered)
            except RefusedError as refusal:
                await _refuse(send, refusal, scope["path"])
                return
            except ClientLeftError:
                return
        started = time.perf_counter()
        try:
            await self.app(scope, _replaying(buffered, receive), send)
        finally:
            self._queue.release(time.perf_counter() - started)

    async def _wait_in_line(self, receive: Receive, buffered: list[Message]) -> None:
        entering = asyncio.ensure_future(self._queue.enter())
        listening: asyncio.Future[Message] | None = None
        try:
            while not entering.done():
                listening = listening or asyncio.ensure_future(receive())
                await asyncio.wait((entering, listening), return_when=asyncio.FIRST_COMPLETED)
                if listening.done():
                    message, listening = listening.result(), None
                    if message["type"] == "http.disconnect":
                        raise ClientLeftError
                    buffered.append(message)
            entering.result()
        except BaseException:
            if entering.done() and not entering.cancelled() and entering.exception() is None:
                self._queue.release()  # admitted as the client left: the slot passes on
            entering.cancel()
            with contextlib.suppress(asyncio.CancelledError, RefusedError):
                await entering
            raise
        finally:
            if listening is not None:
                listening.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await listening


def _replaying(buffered: list[Message], receive: Receive) -> Receive:
    async def replayed() -> Message:
        return buffered.pop(0) if buffered else await receive()

    return replayed


async def _refuse(send: Send, refusal: RefusedError, path: str) -> None:
    answer = error_response(path, refusal.status, refusal.message, headers={
        "retry-after": str(math.ceil(refusal.retry_after_s))})  # fmt: skip
    await send({"type": "http.response.start", "status": answer.status_code, "headers": answer.raw_headers})
    await send({"type": "http.response.body", "body": answer.body})
