"""Errors of the OpenAI-compatible API, in OpenAI's envelope: ``{"error": {"message", "type", "param", "code"}}``.

The same refusals as the native API's, told the way OpenAI's clients read them: a request the
native API answers 422 is a 400 here (OpenAI's status for a bad parameter), ``param`` names the
field at fault, and ``code`` is OpenAI's where one exists (``model_not_found``,
``rate_limit_exceeded``) or says the cause in one word.
"""

from __future__ import annotations

OPENAI_PREFIX = "/v1/"

# OpenAI's error types by status; any other 4xx is an invalid request, any other 5xx a server error.
_TYPES = {401: "authentication_error", 403: "permission_error", 429: "rate_limit_error"}
_CODES = {429: "rate_limit_exceeded", 503: "service_unavailable", 507: "insufficient_vram"}


def is_openai(path: str) -> bool:
    """Whether ``path`` belongs to the OpenAI-compatible API."""
    return path.startswith(OPENAI_PREFIX)


def openai_status(status: int) -> int:
    """The status the OpenAI-compatible API answers where the native API answers ``status``."""
    return 400 if status == 422 else status


def envelope(status: int, message: str, param: str | None = None, code: str | None = None) -> dict:
    """The body of an OpenAI-style error answered with ``status``."""
    kind = _TYPES.get(status) or ("server_error" if status >= 500 else "invalid_request_error")
    return {"error": {"message": message, "type": kind, "param": param, "code": code or _CODES.get(status)}}
