"""What the orchestrator asks of a shard: adapter files, adapter uploads, embeddings, federated search.

An adapter moves between shards as bytes over HTTP: the orchestrator downloads the file from the
source shard and uploads it to the destination, which verifies the SHA-256 the orchestrator names,
keeps the file in its adapter directory and loads it under its VRAM budget (507 when it cannot).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from pathlib import Path as FilePath

from fastapi import APIRouter, Header, Path, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field

from observatory.runtime.deps import ShardDep
from observatory.runtime.errors import ShardError, conflict, input_error, not_found, unavailable
from observatory.runtime.json_body import JsonBodyRoute
from observatory.runtime.schemas import ADAPTER_NAME_PATTERN, MAX_BATCH, MAX_PROMPT_CHARS, SearchRequest, SearchResponse
from observatory.runtime.service import Shard

router = APIRouter(prefix="/api/v1", tags=["transfer"], route_class=JsonBodyRoute)

MAX_ADAPTER_BYTES = 2 * 1024**3
SHA256_PATTERN = r"^[0-9a-f]{64}$"


class AdapterFile(BaseModel):
    """An adapter file the shard holds: its size, checksum and whether it is loaded."""

    model_config = ConfigDict(extra="forbid")

    name: str
    size_bytes: int
    sha256: str
    loaded: bool


class EmbeddingsRequest(BaseModel):
    """Texts to embed with the shard's own model."""

    model_config = ConfigDict(extra="forbid")

    texts: list[str] = Field(min_length=1, max_length=MAX_BATCH)


class EmbeddingsResponse(BaseModel):
    """One mean-pooled embedding per text, in order."""

    model_config = ConfigDict(extra="forbid")

    vectors: list[list[float]]
    dim: int


def _sha256(path: FilePath) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _adapter_path(shard: Shard, name: str) -> FilePath:
    return shard.adapter_dir / f"{name}.gguf"


async def _describe(shard: Shard, name: str) -> AdapterFile:
    path = _adapter_path(shard, name)
    if not path.is_file():
        raise not_found("name", f"no adapter {name!r} on this shard")
    sha256 = await asyncio.to_thread(_sha256, path)
    loaded = any(adapter.name == name for adapter in shard.adapters.loaded())
    return AdapterFile(name=name, size_bytes=path.stat().st_size, sha256=sha256, loaded=loaded)


@router.get("/lora/files/{name}", responses={404: {}})
async def adapter_file_info(shard: ShardDep, name: str = Path(pattern=ADAPTER_NAME_PATTERN)) -> AdapterFile:
    """The adapter file's size, SHA-256 and whether it is loaded."""
    return await _describe(shard, name)


@router.get("/lora/files/{name}/content", response_class=FileResponse, responses={404: {}})
async def adapter_file_content(shard: ShardDep, name: str = Path(pattern=ADAPTER_NAME_PATTERN)) -> FileResponse:
    """The adapter file's bytes."""
    path = _adapter_path(shard, name)
    if not path.is_file():
        raise not_found("name", f"no adapter {name!r} on this shard")
    return FileResponse(path, media_type="application/octet-stream")


def _store(directory: FilePath, name: str, data: bytes) -> None:
    # Written beside its final name and renamed, so a half-written file is never listed as available.
    directory.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(temporary, directory / f"{name}.gguf")
    except BaseException:
        FilePath(temporary).unlink(missing_ok=True)
        raise


@router.put("/lora/files/{name}", responses={404: {}, 409: {}, 413: {}, 422: {}, 507: {"description": "over budget"}})
async def upload_adapter(
    request: Request,
    shard: ShardDep,
    name: str = Path(pattern=ADAPTER_NAME_PATTERN),
    x_sha256: str = Header(pattern=SHA256_PATTERN, description="SHA-256 of the body, hex"),
    x_scale: float = Header(1.0, ge=-4.0, le=4.0, description="Scale the adapter loads at"),
) -> AdapterFile:
    """Keep an adapter file sent by the orchestrator and load it; idempotent for the same bytes.

    The body must hash to ``x-sha256`` (else 422). A different file under the same name is a 409.
    """
    if not shard.started:
        raise unavailable(shard.startup_error or "the model is still loading")
    # The declared length is refused before the body is read into memory; a body without one is checked after.
    if int(request.headers.get("content-length") or 0) > MAX_ADAPTER_BYTES:
        raise ShardError(413, f"adapter larger than {MAX_ADAPTER_BYTES} bytes", "body")
    data = await request.body()
    if len(data) > MAX_ADAPTER_BYTES:
        raise ShardError(413, f"adapter larger than {MAX_ADAPTER_BYTES} bytes", "body")
    if await asyncio.to_thread(lambda: hashlib.sha256(data).hexdigest()) != x_sha256:
        raise input_error("x-sha256", "x-sha256: the body does not hash to the given SHA-256")
    async with shard.adapter_uploads[name]:
        path = _adapter_path(shard, name)
        stored = not path.is_file()
        if not stored and await asyncio.to_thread(_sha256, path) != x_sha256:
            raise conflict("name", f"a different adapter named {name!r} is already on this shard")
        if stored:
            await asyncio.to_thread(_store, shard.adapter_dir, name, data)
        if not any(adapter.name == name for adapter in shard.adapters.loaded()):
            try:
                await shard.load_adapter(name, x_scale)
            except Exception:
                # A file that could not be loaded (over budget, not an adapter of this model) is not kept.
                if stored:
                    path.unlink(missing_ok=True)
                raise
        loaded = any(adapter.name == name for adapter in shard.adapters.loaded())
    return AdapterFile(name=name, size_bytes=len(data), sha256=x_sha256, loaded=loaded)


@router.post("/embeddings", responses={422: {}, 503: {}})
async def embeddings(body: EmbeddingsRequest, shard: ShardDep) -> EmbeddingsResponse:
    """Embed texts with the shard's model (mean pooling), for the orchestrator's similarity scores."""
    if not shard.started:
        raise unavailable(shard.startup_error or "the model is still loading")
    for position, text in enumerate(body.texts):
        if not text or len(text) > MAX_PROMPT_CHARS:
            raise input_error(f"texts.{position}", f"texts.{position}: 1 to {MAX_PROMPT_CHARS} characters")
    vectors = await shard.embed(body.texts, [f"texts.{position}" for position in range(len(body.texts))])
    return EmbeddingsResponse(vectors=vectors.tolist(), dim=int(vectors.shape[1]))


class FederatedSearch(BaseModel):
    """A text query for up to ``k`` neighbours."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=MAX_PROMPT_CHARS)
    k: int = Field(10, gt=0, le=10000)


@router.post("/federated/search", responses={503: {}})
async def federated_search(body: FederatedSearch, shard: ShardDep) -> SearchResponse:
    """Up to ``k`` nearest documents: all the index holds when it holds fewer, none when it is empty."""
    if not shard.started or shard.index is None:
        raise unavailable(shard.startup_error or "the model is still loading")
    k = min(body.k, shard.index.count)
    if k == 0:
        return SearchResponse(results=[[]])
    return SearchResponse(results=await shard.search(SearchRequest(text=body.text, k=k)))
