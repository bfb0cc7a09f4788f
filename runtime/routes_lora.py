"""LoRA adapters: list, load (under the VRAM budget) and unload."""

from __future__ import annotations

from fastapi import APIRouter, Path

from observatory.runtime.deps import ShardDep
from observatory.runtime.json_body import JsonBodyRoute
from observatory.runtime.schemas import ADAPTER_NAME_PATTERN, AdapterInfo, AdapterLoad, AdaptersResponse

router = APIRouter(prefix="/api/v1/lora", tags=["lora"], route_class=JsonBodyRoute)


def _listing(shard: ShardDep) -> AdaptersResponse:
    return AdaptersResponse(
        loaded=[AdapterInfo(name=a.name, scale=a.scale, size_bytes=a.size_bytes) for a in shard.adapters.loaded()],
        available=shard.adapters.available(),
        vram_budget_bytes=shard.vram.limit_bytes,
        vram_reserved_bytes=shard.vram.reserved_bytes,
    )


@router.get("")
async def list_adapters(shard: ShardDep) -> AdaptersResponse:
    """Loaded adapters, adapters available to load, and the VRAM budget."""
    return _listing(shard)


@router.post("", status_code=201, responses={404: {}, 409: {}, 507: {"description": "over the VRAM budget"}})
async def load_adapter(body: AdapterLoad, shard: ShardDep) -> AdaptersResponse:
    """Load an adapter from the adapter directory; 409 if loaded, 507 if it would exceed the VRAM budget."""
    await shard.load_adapter(body.name, body.scale)
    return _listing(shard)


@router.delete("/{name}", responses={404: {}})
async def unload_adapter(shard: ShardDep, name: str = Path(pattern=ADAPTER_NAME_PATTERN)) -> AdaptersResponse:
    """Unload an adapter and release its VRAM reservation."""
    await shard.unload_adapter(name)
    return _listing(shard)
