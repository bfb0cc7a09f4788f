"""A real HTTP server that counts the calls each DAG node makes, and can hold a node's first call.

Two kinds: a node endpoint (``POST /node/<name>``, for a bare task runner) and a counting proxy in
front of a real shard (for the orchestrator), which forwards every request and counts each
inference by the DAG step its prompt is for.
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from collections.abc import Collection
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

_HOLD_LIMIT_S = 300.0
# The line of a DAG step's prompt naming its step (observatory.orchestrator.dag.step_prompt).
_STEP_LINE = re.compile(r"^Step (\S+):", re.MULTILINE)


class CountingServer:
    """``POST /node/<name>`` answers ``{"node", "call", "inputs"}`` and counts the call.

    With ``upstream`` (a shard's base URL) it is a proxy instead: every request goes on to the shard
    and its answer comes back; a ``POST /api/v1/inference`` whose prompt is a DAG step's is counted
    for that step. The first call to a node named in ``hold_first`` waits until :meth:`release` (or
    the end of the server), so that a test can kill the caller in the middle of that node.
    """

    def __init__(self, hold_first: Collection[str] = (), upstream: str | None = None) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._prompts: list[str] = []
        self._arrived = {node: threading.Event() for node in hold_first}
        self._released = threading.Event()
        self._upstream = httpx.Client(base_url=upstream, timeout=120) if upstream else None
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

    def prompts(self) -> list[str]:
        """The prompt of every inference forwarded so far (proxy only)."""
        with self._lock:
            return list(self._prompts)

    def wait_for_held_call(self, node: str, timeout: float = 60.0) -> None:
        """Block until the held first call to ``node`` has arrived."""
        if not self._arrived[node].wait(timeout):
            raise AssertionError(f"no call to node {node!r} within {timeout} s")

    def release(self) -> None:
        """Let held calls answer (to a caller that may be dead by now)."""
        self._released.set()

    def _count(self, node: str) -> int:
        """Count a call to ``node``; the first call to a held node waits for :meth:`release`."""
        with self._lock:
            self._counts[node] += 1
            call = self._counts[node]
        if call == 1 and node in self._arrived:
            self._arrived[node].set()
            self._released.wait(_HOLD_LIMIT_S)
        return call

    def _node_answer(self, path: str, body: bytes) -> tuple[int, bytes]:
        prefix, _, node = path.partition("/node/")
        if prefix or not node:
            return 404, b"{}"
        inputs = json.loads(body or b"{}").get("inputs", {})
        call = self._count(node)
        return 200, json.dumps({"node": node, "call": call, "inputs": sorted(inputs)}).encode()

    def _forward(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        assert self._upstream is not None
        if method == "POST" and path == "/api/v1/inference":
            prompt = json.loads(body or b"{}").get("prompt", "")
            with self._lock:
                self._prompts.append(prompt)
            step = _STEP_LINE.search(prompt)
            if step:
                self._count(step.group(1))
        response = self._upstream.request(method, path, content=body, headers=headers)
        return response.status_code, response.content

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        counting = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if counting._upstream is None:
                    status, answer = counting._node_answer(self.path, body) if self.command == "POST" else (404, b"{}")
                else:
                    forwarded = {name: value for name, value in self.headers.items()
                                 if name.lower() in ("content-type", "authorization")}  # fmt: skip
                    status, answer = counting._forward(self.command, self.path, forwarded, body)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except OSError:
                    pass  # the caller was killed while its call was held

            def do_GET(self) -> None:
                self._answer()

            def do_POST(self) -> None:
                self._answer()

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
        if self._upstream is not None:
            self._upstream.close()
