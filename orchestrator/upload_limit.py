"""Refuse an oversized upload from its Content-Length, before a byte of its body is read.

FastAPI parses a multipart body (spooling the file) before the route runs, so the route's own size
check comes after the upload was received; this middleware answers 413 first. The route still
checks the file itself, for bodies that come without a length or just under the bound.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

from observatory.runtime.errors import error_body

# Room for the multipart framing and the small form fields beside the file.
MULTIPART_OVERHEAD_BYTES = 16 * 1024


class UploadLimit:
    """ASGI middleware: a POST to ``path`` whose Content-Length exceeds ``max_bytes`` plus the framing
    gets 413 naming ``field``, and its body is never read."""

    def __init__(self, app: ASGIApp, *, path: str, max_bytes: int, field: str = "file") -> None:
        self.app = app
        self.path = path
        self.max_bytes = max_bytes
        self.field = field

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == self.path:
            length = dict(scope["headers"]).get(b"content-length", b"")
            if length.isdigit() and int(length) > self.max_bytes + MULTIPART_OVERHEAD_BYTES:
                await self._refuse(int(length), send)
                return
        await self.app(scope, receive, send)

    async def _refuse(self, length: int, send: Send) -> None:
        message = f"{self.field}: the upload of {length} bytes is larger than the limit of {self.max_bytes} bytes"
        body = json.dumps(error_body(message, self.field)).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                   (b"connection", b"close")]  # fmt: skip
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
