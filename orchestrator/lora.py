"""LoRA transfer: an adapter's bytes move over HTTP from one shard to another, checked by SHA-256.

The destination is authoritative: when it already holds the same bytes (same SHA-256) loaded, the
transfer is a cache hit and moves nothing; when it holds them unloaded, it only loads them. Otherwise
the orchestrator downloads the file from the source, checks its checksum and uploads it, and the
destination checks the checksum again, keeps the file and loads it under its VRAM budget. Repeating a
transfer therefore changes nothing: it is idempotent.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from typing import Any

import httpx

from observatory.orchestrator.checkpoint import Checkpoint
from observatory.orchestrator.schemas import TransferRequest, TransferResponse
from observatory.orchestrator.service import Orchestrator
from observatory.orchestrator.shards import ShardRef, relayed_error
from observatory.runtime.errors import ShardError, input_error, not_found


async def _call(orchestrator: Orchestrator, shard: ShardRef, method: str, path: str, **kwargs: Any) -> httpx.Response:
    try:
        return await orchestrator.pool.call(shard, method, path, orchestrator.settings.timeouts.transfer, **kwargs)
    except httpx.HTTPError as error:
        raise ShardError(503, f"shard {shard.name} is unreachable ({type(error).__name__})", None) from None


async def _file_info(orchestrator: Orchestrator, shard: ShardRef, adapter: str) -> dict[str, Any] | None:
    response = await _call(orchestrator, shard, "GET", f"/api/v1/lora/files/{adapter}")
    if response.status_code == 404:
        return None
    if response.status_code != 200:
        raise relayed_error(shard, response)
    return response.json()


async def transfer(orchestrator: Orchestrator, request: TransferRequest) -> dict[str, Any]:
    """Copy ``request.adapter`` from source to destination and load it there (see the module's docstring)."""
    pool = orchestrator.pool
    source = pool.shard(request.source, "source")
    destination = pool.shard(request.destination, "destination")
    if source.name == destination.name:
        raise input_error("destination", "destination: the same shard as the source")
    started = time.perf_counter()
    offered = await _file_info(orchestrator, source, request.adapter)
    if offered is None:
        raise not_found("adapter", f"adapter: shard {source.name} has no adapter {request.adapter!r}")
    held = await _file_info(orchestrator, destination, request.adapter)
    if held is not None and held["sha256"] == offered["sha256"]:
        if not held["loaded"]:
            loading = await _call(orchestrator, destination, "POST", "/api/v1/lora",
                                  json={"name": request.adapter, "scale": request.scale})  # fmt: skip
            _refused(destination, loading)
        return _answer(0, started, offered["sha256"], cache_hit=True)
    download = await _call(orchestrator, source, "GET", f"/api/v1/lora/files/{request.adapter}/content")
    if download.status_code != 200:
        raise relayed_error(source, download)
    data = download.content
    # Off the event loop: an adapter may weigh gigabytes, and probes must not wait on its hash.
    digest = await asyncio.to_thread(lambda: hashlib.sha256(data).hexdigest())
    if digest != offered["sha256"]:
        raise ShardError(502, f"shard {source.name} sent bytes whose SHA-256 is not the one it announced", None)
    headers = {"x-sha256": digest, "x-scale": repr(request.scale), "content-type": "application/octet-stream"}
    upload = await _call(orchestrator, destination, "PUT", f"/api/v1/lora/files/{request.adapter}",
                         content=data, headers=headers)  # fmt: skip
    _refused(destination, upload)
    orchestrator.metrics.lora_transfer(source.name, destination.name, len(data))
    return _answer(len(data), started, digest, cache_hit=False)


def _refused(destination: ShardRef, response: httpx.Response) -> None:
    if response.status_code == 507:
        detail = response.json()
        raise ShardError(
            507,
            f"destination: shard {destination.name} cannot load the adapter within its VRAM budget"
            f" ({detail.get('reserved_bytes')} of {detail.get('limit_bytes')} bytes reserved)",
            "destination",
        )
    if response.status_code == 409:
        raise ShardError(409, f"adapter: shard {destination.name} holds a different adapter of that name", "adapter")
    if response.status_code >= 300:
        raise relayed_error(destination, response)


def _answer(moved: int, started: float, sha256: str, cache_hit: bool) -> dict[str, Any]:
    return TransferResponse(transferred=True, cache_hit=cache_hit, bytes=moved,
                            seconds=time.perf_counter() - started, sha256=sha256).model_dump()  # fmt: skip


async def run_transfer(orchestrator: Orchestrator, request: TransferRequest, checkpoint: Checkpoint) -> dict:
    """The transfer as one checkpoint node (it is idempotent, so re-running it after a crash is safe)."""
    return await checkpoint.run_step("transfer", lambda: transfer(orchestrator, request))
