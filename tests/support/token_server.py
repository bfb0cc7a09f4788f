"""A real OpenAI-style streaming server with scripted timing, for the load generator's openai profile.

``python token_server.py PORT FIRST_S GAP_S TOKENS``: each chat completion streams its first token
``FIRST_S`` seconds after the request arrived and every further one ``GAP_S`` later, ``TOKENS`` in all,
then a usage chunk and ``data: [DONE]``. It answers one request at a time, as a single-slot model does:
a request that arrives while another streams waits its turn, and that wait is part of its first token.
"""

from __future__ import annotations

import asyncio
import json
import sys

from aiohttp import web

MODEL = "scripted"


def make_app(first_s: float, gap_s: float, tokens: int) -> web.Application:
    """The app: ``GET /v1/models`` and a streamed ``POST /v1/chat/completions``."""
    turn = asyncio.Lock()

    async def models(_: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": MODEL, "object": "model"}]})

    async def chat(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        async with turn:
            await asyncio.sleep(first_s)
            for index in range(tokens):
                if index:
                    await asyncio.sleep(gap_s)
                chunk = {"object": "chat.completion.chunk", "model": body["model"], "usage": None,
                         "choices": [{"index": 0, "delta": {"content": f" t{index}"}, "finish_reason": None}]}
                await response.write(f"data: {json.dumps(chunk)}\n\n".encode())
            usage = {"prompt_tokens": 5, "completion_tokens": tokens, "total_tokens": tokens + 5}
            last = {"object": "chat.completion.chunk", "model": body["model"], "choices": [], "usage": usage}
            await response.write(f"data: {json.dumps(last)}\n\ndata: [DONE]\n\n".encode())
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_get("/v1/models", models)
    app.router.add_post("/v1/chat/completions", chat)
    return app


if __name__ == "__main__":
    port, first_s, gap_s, tokens = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
    web.run_app(make_app(first_s, gap_s, tokens), host="127.0.0.1", port=port, access_log=None, print=None)
