"""A real HTTP server that counts the calls each DAG node makes, and can hold a node's first call."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Collection
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_HOLD_LIMIT_S = 300.0


class CountingServer:
    """``POST /node/<name>`` answers ``{"node", "call", "inputs"}`` and counts the call.

    The first call to a node named in ``hold_first`` waits until :meth:`release` (or the end of
    the server), so that a test can kill the caller in the middle of that node.
    """

    def __init__(self, hold_first: Collection[str] = ()) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._arrived = {node: threading.Event() for node in hold_first}
        self._released = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The server's base URL."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def counts(self) -> Counter[str]:
        """Calls received so far, per node."""
        with self._lock:
            return Counter(self._counts)

    def wait_for_held_call(self, node: str, timeout: float = 60.0) -> None:
        """Block until the held first call to ``node`` has arrived."""
        if not self._arrived[node].wait(timeout):
            raise AssertionError(f"no call to node {node!r} within {timeout} s")

    def release(self) -> None:
        """Let held calls answer (to a caller that may be dead by now)."""
        self._released.set()

    def _count(self, node: str) -> tuple[int, bool]:
        with self._lock:
            self._counts[node] += 1
            call = self._counts[node]
        held = call == 1 and node in self._arrived
        if held:
            self._arrived[node].set()
        return call, held

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        counting = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                prefix, _, node = self.path.partition("/node/")
                if prefix or not node:
                    self.send_error(404)
                    return
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                call, held = counting._count(node)
                if held:
                    counting._released.wait(_HOLD_LIMIT_S)
                answer = json.dumps({"node": node, "call": call, "inputs": sorted(body.get("inputs", {}))}).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except OSError:
                    pass  # the caller was killed while its call was held

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler

    def __enter__(self) -> CountingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
