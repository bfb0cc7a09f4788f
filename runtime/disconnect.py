"""Seeing a client hang up while its whole (not streamed) answer is being generated.

An ASGI server tells the app of a closed connection through ``receive()``: once the body has been
read, the next message is ``http.disconnect``. Waiting for it beside the generation lets the shard
stop generating for nobody; the answer it then gives, :data:`CLIENT_CLOSED`, reaches no one and is
counted by its cancelled generation alone.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import TypeVar

from starlette.requests import Request
from starlette.responses import Response

T = TypeVar("T")

# nginx's status for a request whose client closed the connection before the answer.
CLIENT_CLOSED = 499


def hang_up_of(request: Request) -> Callable[[], Awaitable[None]]:
    """A coroutine function that returns once the client of ``request`` (whose body was read) hangs up."""

    async def hung_up() -> None:
        while (await request.receive())["type"] != "http.disconnect":
            pass

    return hung_up


def client_closed() -> Response:
    """The answer to a request whose client left: nobody reads it."""
    return Response(status_code=CLIENT_CLOSED)


async def unless_hung_up(work: Awaitable[T], request: Request) -> T | None:
    """The result of ``work``, or None once the client of ``request`` hung up first: ``work`` is then cancelled
    (for a call to a shard, that closes its connection, and the shard stops generating)."""
    running = asyncio.ensure_future(work)
    watching = asyncio.ensure_future(hang_up_of(request)())
    try:
        await asyncio.wait((running, watching), return_when=asyncio.FIRST_COMPLETED)
        if running.done():
            return running.result()
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        return None
    finally:
        watching.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watching
