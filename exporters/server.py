"""Serve one registry on ``/metrics`` over HTTP until SIGTERM or SIGINT, shared by both exporters."""

from __future__ import annotations

import json
import logging
import signal
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, CollectorRegistry, generate_latest

log = logging.getLogger(__name__)

METRICS_PATH = "/metrics"
_ALLOWED = "GET, HEAD"


def _index_page(title: str) -> bytes:
    return (
        f"<!doctype html><html><head><title>{title}</title></head>"
        f'<body><h1>{title}</h1><p><a href="{METRICS_PATH}">Metrics</a></p></body></html>\n'
    ).encode()


def make_handler(registry: CollectorRegistry, title: str, max_concurrent: int) -> type[BaseHTTPRequestHandler]:
    """A request handler class serving ``registry``; past ``max_concurrent`` scrapes at once it answers 503."""
    scrapes = threading.BoundedSemaphore(max_concurrent)
    index = _index_page(title)

    class Handler(BaseHTTPRequestHandler):
        # HTTP/1.1 keeps Prometheus' connection open between scrapes.
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes; with Nagle's algorithm the second waits ~40 ms for an ACK.
        disable_nagle_algorithm = True
        server_version = "themis-exporter"

        def _send(self, status: int, content_type: str, body: bytes, extra: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (extra or {}).items():
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _send_error(self, status: int, message: str, extra: dict[str, str] | None = None) -> None:
            body = json.dumps({"error": message}).encode() + b"\n"
            self._send(status, "application/json", body, extra)

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            if path == "/":
                self._send(200, "text/html; charset=utf-8", index)
            elif path == METRICS_PATH:
                self._scrape()
            else:
                self._send_error(404, f"no such path {path!r}; metrics are on {METRICS_PATH}")

        do_HEAD = do_GET  # noqa: N815

        def _scrape(self) -> None:
            if not scrapes.acquire(blocking=False):
                self._send_error(503, f"more than {max_concurrent} scrapes at once", {"Retry-After": "1"})
                return
            try:
                body = generate_latest(registry)
            finally:
                scrapes.release()
            # The 0.0.4 text format: what Debian's Prometheus 2.x and promtool expect.
            self._send(200, CONTENT_TYPE_PLAIN_0_0_4, body)

        def _not_allowed(self) -> None:
            self._send_error(405, f"method {self.command} is not allowed; use GET or HEAD", {"Allow": _ALLOWED})

        do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_TRACE = do_CONNECT = _not_allowed  # noqa: N815

        def log_message(self, format: str, *args: object) -> None:
            log.debug("%s " + format, self.address_string(), *args)

    return Handler


def serve(registry: CollectorRegistry, address: str, port: int, title: str, max_concurrent: int = 10) -> None:
    """Serve ``registry`` on ``address:port`` until SIGTERM or SIGINT, then close the socket and return."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    server_class = type("Server", (ThreadingHTTPServer,), {"address_family": family, "daemon_threads": True})
    server = server_class((address, port), make_handler(registry, title, max_concurrent))
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    thread = threading.Thread(target=server.serve_forever, name="http", daemon=True)
    thread.start()
    log.info("%s listening on http://%s:%d%s", title, address, server.server_address[1], METRICS_PATH)
    stop.wait()
    server.shutdown()
    server.server_close()
    log.info("%s stopped", title)
