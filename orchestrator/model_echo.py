"""Answers through the orchestrator carry the ``model`` the client asked for, as OpenAI and vLLM echo it.

A shard names its own model (``themis-tiny-…``) or adapter in every answer and chunk. A whole answer
is a parsed body whose ``model`` is set; a stream is renamed event by event on its bytes, so that no
chunk is decoded and encoded again and each one is passed on as soon as it is complete.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncGenerator, AsyncIterator

EVENT_END = b"\n\n"


def model_field(name: str) -> bytes:
    """The ``"model": "<name>"`` member as the shard's JSON encoder writes it."""
    return b'"model": ' + json.dumps(name).encode()


async def renamed_events(chunks: AsyncGenerator[bytes], served: str, asked: str) -> AsyncIterator[bytes]:
    """The server-sent events of ``chunks`` with the model ``served`` named ``asked`` instead.

    Bytes are held back only up to the end of the event they belong to: an event's ``model`` may
    be split between two network reads. Inside a JSON string every quote is escaped, so the member
    matched here cannot be a part of generated text. Closing this stream closes ``chunks`` at once.
    """
    old, new = model_field(served), model_field(asked)
    pending = b""
    async with contextlib.aclosing(chunks):
        async for chunk in chunks:
            pending += chunk
            end = pending.rfind(EVENT_END)
            if end < 0:
                continue
            complete, pending = pending[: end + len(EVENT_END)], pending[end + len(EVENT_END) :]
            yield complete.replace(old, new)
    if pending:
        yield pending.replace(old, new)
