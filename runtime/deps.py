"""Dependencies the routers declare: the shard object the app factory was given."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from observatory.runtime.service import Shard


def get_shard(request: Request) -> Shard:
    """The shard this app serves."""
    return request.app.state.shard


ShardDep = Annotated[Shard, Depends(get_shard)]
