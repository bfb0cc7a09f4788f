"""Seeing a client hang up while its whole (not streamed) answer is being generated.

An ASGI server tells the app of a closed connection through ``receive()``: once the body has been
read, the next message is ``http.disconnect``. Waiting for it beside the generation lets the shard
stop generating for nobody; the answer it then gives, :data:`CLIENT_CLOSED`, reaches no one and is
counted by its cancelled generation alone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

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
