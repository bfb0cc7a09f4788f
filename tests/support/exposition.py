"""Scrape targets that serve a given exposition text, so a real Prometheus ingests chosen series.

Each target is a real HTTP server on a free loopback port; stopping it makes its scrapes fail
exactly as a crashed shard's do (connection refused, ``up`` 0, its series marked stale).
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from support.processes import free_port


class _Handler(BaseHTTPRequestHandler):
    server: _ExpositionServer

    def do_GET(self) -> None:
        body = self.server.text.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        """Scrapes are not worth a log line each."""


class _ExpositionServer(ThreadingHTTPServer):
    text = ""


class ExpositionTarget:
    """One scrape target serving ``text`` on 127.0.0.1 until stopped; ``text`` may change between scrapes."""

    def __init__(self, text: str) -> None:
        self.address = f"127.0.0.1:{free_port()}"
        host, port = self.address.split(":")
        self._server = _ExpositionServer((host, int(port)), _Handler)
        self._server.text = text
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def text(self) -> str:
        """What the target serves now."""
        return self._server.text

    @text.setter
    def text(self, value: str) -> None:
        self._server.text = value

    def stop(self) -> None:
        """Close the listening socket: the next scrape is refused, as for a dead process."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
