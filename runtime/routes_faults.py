"""GET, PUT and DELETE /admin/faults: fault injection behind the admin bearer token."""

from __future__ import annotations

from fastapi import APIRouter, Header

from observatory.runtime.deps import ShardDep
from observatory.runtime.faults import FaultSettings
from observatory.runtime.json_body import JsonBodyRoute
from observatory.runtime.routes_admin import require_admin

router = APIRouter(prefix="/admin", tags=["admin"], route_class=JsonBodyRoute)
_REFUSALS: dict[int | str, dict] = {401: {}, 403: {}}


@router.get("/faults", responses=_REFUSALS)
async def faults(shard: ShardDep, authorization: str | None = Header(None)) -> FaultSettings:
    """The faults in force."""
    require_admin(shard, authorization)
    return shard.faults.settings


@router.put("/faults", responses=_REFUSALS)
async def set_faults(
    settings: FaultSettings, shard: ShardDep, authorization: str | None = Header(None)
) -> FaultSettings:
    """Replace the faults in force (fields left out are off)."""
    require_admin(shard, authorization)
    shard.faults.configure(settings)
    return shard.faults.settings


@router.delete("/faults", responses=_REFUSALS)
async def clear_faults(shard: ShardDep, authorization: str | None = Header(None)) -> FaultSettings:
    """Turn every fault off."""
    require_admin(shard, authorization)
    shard.faults.configure(FaultSettings())
    return shard.faults.settings
