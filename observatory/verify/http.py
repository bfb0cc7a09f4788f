"""Read-only calls to the HTTP APIs of Prometheus and Alertmanager, with one-line errors."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

TIMEOUT_SECONDS = 30.0


class VerifyError(Exception):
    """A server could not be asked; the message is one line naming the server and the cause."""


class QueryError(VerifyError):
    """Prometheus answered, and refused the request (a bad expression, an evaluation error)."""


def check_base_url(url: str) -> str:
    """``url`` without a trailing slash; VerifyError unless it is an absolute http(s) URL."""
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise VerifyError(f"expected an http(s) URL such as http://localhost:9090, got {url!r}")
    return url.rstrip("/")


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def reachable(url: str) -> tuple[bool, str]:
    """Whether GET ``url`` answers 2xx, and what it answered (status or the connection error)."""
    try:
        status, _ = _get(url)
    except (OSError, ValueError) as error:
        return False, f"cannot connect: {getattr(error, 'reason', error)}"
    return 200 <= status < 300, f"HTTP {status}"


class PrometheusApi:
    """The ``/api/v1`` endpoints of one Prometheus server."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def get(self, path: str, params: list[tuple[str, str]] | None = None) -> Any:
        """The ``data`` of a successful call; VerifyError when the server cannot be asked at all."""
        url = f"{self.base_url}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        try:
            status, text = _get(url)
        except (OSError, ValueError) as error:
            raise VerifyError(
                f"cannot reach Prometheus at {self.base_url}: {getattr(error, 'reason', error)}"
            ) from None
        try:
            body = json.loads(text)
        except ValueError:
            raise VerifyError(
                f"{self.base_url} is not a Prometheus API: /api/v1/{path} answered HTTP {status}"
            ) from None
        if body.get("status") != "success":
            raise QueryError(str(body.get("error") or f"HTTP {status}"))
        return body["data"]

    def query(self, expr: str) -> list[dict]:
        """The instant result of ``expr`` now; QueryError when Prometheus refuses the expression."""
        return self.get("query", [("query", expr)])["result"]
