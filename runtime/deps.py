"""Dependencies the routers declare: the shard object the app factory was given."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from observatory.runtime.service import Shard


async def get_shard(request: Request) -> Shard:
    """The shard this app serves.

    Async on purpose: FastAPI runs a plain ``def`` dependency in its thread pool, a hop per request
    that cost more than the rest of a small search's handling.
    """
    return request.app.state.shard


ShardDep = Annotated[Shard, Depends(get_shard)]
