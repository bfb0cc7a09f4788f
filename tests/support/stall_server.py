"""A real HTTP server for load-generator tests: answers at once, except that it stalls once, like a GC pause.

``python stall_server.py PORT STALL_AT STALL_S``: the ``STALL_AT``-th request blocks the whole server
(its event loop) for ``STALL_S`` seconds, so every request in flight or queued behind it waits.
It also serves a task API (``POST /api/v1/tasks``, ``GET /api/v1/tasks/{id}``) whose tasks complete
``TASK_S`` seconds after submission (the fourth argument, default 0.2), every tenth one failing.
"""

from __future__ import annotations

import itertools
import sys
import time

from aiohttp import web


def make_app(stall_at: int, stall_s: float, task_s: float) -> web.Application:
    """The app: ``GET /`` with one stall, and the task API."""
    served = itertools.count(1)
    submitted: dict[int, float] = {}

    async def root(_: web.Request) -> web.Response:
        if next(served) == stall_at:
            time.sleep(stall_s)  # blocks the loop on purpose: the whole server stalls
        return web.Response(text="ok")

    async def submit(request: web.Request) -> web.Response:
        body = await request.json()
        if not isinstance(body, dict) or "kind" not in body:
            return web.json_response({"detail": "kind: required"}, status=422)
        task_id = len(submitted) + 1
        submitted[task_id] = time.monotonic()
        return web.json_response({"task_id": task_id}, status=201)

    async def status(request: web.Request) -> web.Response:
        task_id = int(request.match_info["id"])
        if task_id not in submitted:
            return web.json_response({"detail": "id: unknown task"}, status=404)
        if time.monotonic() - submitted[task_id] < task_s:
            return web.json_response({"status": "queued", "result": None, "progress": []})
        state = "failed" if task_id % 10 == 0 else "succeeded"
        return web.json_response({"status": state, "result": {}, "progress": []})

    async def openapi(_: web.Request) -> web.Response:
        return web.json_response({"paths": {"/api/v1/tasks": {}, "/api/v1/tasks/{id}": {}}})

    app = web.Application()
    app.router.add_get("/", root)
    app.router.add_post("/api/v1/tasks", submit)
    app.router.add_get("/api/v1/tasks/{id}", status)
    app.router.add_get("/openapi.json", openapi)
    return app


if __name__ == "__main__":
    port, stall_at, stall_s = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    task_s = float(sys.argv[4]) if len(sys.argv) > 4 else 0.2
    web.run_app(make_app(stall_at, stall_s, task_s), host="127.0.0.1", port=port, access_log=None, print=None)
