"""Errors the service answers as JSON naming the field at fault, and the handlers that render them."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from observatory.runtime.openai_errors import envelope, is_openai, openai_status
from observatory.runtime.vram import VRAMLimitError

log = logging.getLogger(__name__)

# The status of a refusal for lack of (V)RAM under the shard's budget.
INSUFFICIENT_STORAGE = 507


class ShardError(Exception):
    """A request the shard refuses: ``status`` is the HTTP status, ``field`` the input at fault, ``code``
    the OpenAI-compatible API's error code when it has one (``model_not_found``)."""

    def __init__(self, status: int, message: str, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.code = code


def input_error(field: str, message: str) -> ShardError:
    """422: the named field of the request is invalid."""
    return ShardError(422, message, field)


def not_found(field: str, message: str) -> ShardError:
    """404: the named resource does not exist."""
    return ShardError(404, message, field)


def conflict(field: str, message: str) -> ShardError:
    """409: the request conflicts with the shard's state (e.g. an adapter loaded twice)."""
    return ShardError(409, message, field)


def unavailable(message: str) -> ShardError:
    """503: the shard cannot serve this now (model not loaded, shutting down)."""
    return ShardError(503, message)


def error_body(message: str, field: str | None = None) -> dict:
    """The JSON body of every error answer."""
    return {"error": message, "field": field}


def vram_body(error: VRAMLimitError) -> dict:
    """The body of a 507: what did not fit, with the budget's limit and what is reserved of it."""
    return error_body(str(error), error.field) | {"limit_bytes": error.limit, "reserved_bytes": error.reserved}


def error_response(
    path: str, status: int, message: str, field: str | None = None, code: str | None = None,
    extra: dict | None = None, headers: dict[str, str] | None = None,
) -> JSONResponse:  # fmt: skip
    """An error answer for a request to ``path``: in OpenAI's envelope on the OpenAI-compatible API, else
    ``{"error": ..., "field": ...}`` with ``extra`` beside them."""
    if is_openai(path):
        return JSONResponse(envelope(openai_status(status), message, field, code), openai_status(status), headers)
    return JSONResponse(error_body(message, field) | (extra or {}), status_code=status, headers=headers)


def _field_of(location: tuple) -> str:
    # FastAPI prefixes the part of the request ("body", "query", "path"); keep it out of the name.
    parts = [str(part) for part in location[1:]] if len(location) > 1 else [str(part) for part in location]
    return ".".join(parts) or "body"


def install_error_handlers(app: FastAPI) -> None:
    """Render every refusal as ``{"error": ..., "field": ...}`` with a 4xx status, never a traceback;
    an unexpected failure is a 500 that says what failed in words and logs the details."""

    @app.exception_handler(ShardError)
    async def _shard_error(request: Request, error: ShardError) -> JSONResponse:
        return error_response(request.url.path, error.status, error.message, error.field, error.code)

    @app.exception_handler(VRAMLimitError)
    async def _vram(request: Request, error: VRAMLimitError) -> JSONResponse:
        extra = {"limit_bytes": error.limit, "reserved_bytes": error.reserved}
        return error_response(request.url.path, INSUFFICIENT_STORAGE, str(error), error.field, extra=extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0]
        field = "body" if first.get("type") == "json_invalid" else _field_of(tuple(first.get("loc", ())))
        return error_response(request.url.path, 422, f"{field}: {first.get('msg', 'invalid')}", field)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        # The exception's text may hold paths and internals: it goes to the log, the client gets words.
        log.error("%s %s failed", request.method, request.url.path, exc_info=error)
        return error_response(request.url.path, 500, "the shard failed to handle the request; see the shard's log")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        return error_response(request.url.path, error.status_code, str(error.detail), headers=error.headers)
