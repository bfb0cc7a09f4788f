"""A webhook receiver on loopback that keeps every notification Alertmanager posts to it."""

from __future__ import annotations

import contextlib
import http.server
import json
import threading
from collections.abc import Iterator


class WebhookReceiver:
    """The receiver's URL and the notifications received so far, in arrival order."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.received: list[dict] = []

    def alerts(self, status: str | None = None) -> list[dict]:
        """Every alert of every notification, optionally only those with ``status`` (firing, resolved)."""
        return [alert for n in list(self.received) for alert in n["alerts"] if status in (None, alert["status"])]


@contextlib.contextmanager
def running_webhook() -> Iterator[WebhookReceiver]:
    """A threaded HTTP server on a free loopback port; stopped afterwards."""
    receiver: WebhookReceiver

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            receiver.received.append(json.loads(self.rfile.read(int(self.headers["content-length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver = WebhookReceiver(f"http://127.0.0.1:{server.server_address[1]}/alerts")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
