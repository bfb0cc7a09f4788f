"""The outcome of every finished API request, read from its HTTP status in one place.

Validation errors (422), backpressure (429) and failures anywhere in the app (5xx) are all
answered outside the shard's own methods; classifying the status here counts each of them once.
A request that ends without any answer and without an error is one whose client hung up in line;
one answered :data:`~observatory.runtime.disconnect.CLIENT_CLOSED` lost its client while it generated,
and its generation counted itself cancelled.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from observatory.runtime.admission import endpoint_of, is_api
from observatory.runtime.disconnect import CLIENT_CLOSED

# What an app that raised before answering becomes: ServerErrorMiddleware answers it with 500.
UNANSWERED = 500


def outcome_of(status: int) -> str:
    """The ``status`` label value for an HTTP status code."""
    if status == 429:
        return "rejected"
    if status >= 500:
        return "server_error"
    if status >= 400:
        return "client_error"
    return "success"


class Outcomes:
    """ASGI middleware telling ``on_failure(endpoint, outcome)`` about every API request that did not succeed.

    Successes are left to the shard, which records them with their latency and sizes. It must sit
    outside :class:`~observatory.runtime.admission.Admission` to see the 429 answers and the requests
    that left the line, told to ``on_client_left(endpoint)``.
    """

    def __init__(
        self, app: ASGIApp, on_failure: Callable[[str, str], None], on_client_left: Callable[[str], None]
    ) -> None:
        self.app = app
        self._on_failure = on_failure
        self._on_client_left = on_client_left

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not is_api(scope):
            await self.app(scope, receive, send)
            return
        status: int | None = None

        async def send_watched(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        endpoint = endpoint_of(scope["path"])
        try:
            await self.app(scope, receive, send_watched)
        except BaseException:
            status = status or UNANSWERED
            raise
        finally:
            if status is None:
                self._on_client_left(endpoint)
            elif status != CLIENT_CLOSED and outcome_of(status) != "success":
                self._on_failure(endpoint, outcome_of(status))
