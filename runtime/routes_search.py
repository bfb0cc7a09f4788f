"""Vector search: add and delete documents, search by text or vector."""

from __future__ import annotations

from fastapi import APIRouter, Path

from observatory.runtime.deps import ShardDep
from observatory.runtime.json_body import JsonBodyRoute
from observatory.runtime.schemas import DocumentsRequest, DocumentsResponse, SearchRequest, SearchResponse

router = APIRouter(prefix="/api/v1", tags=["vector search"], route_class=JsonBodyRoute)


@router.post("/documents", status_code=201, responses={409: {}})
async def add_documents(body: DocumentsRequest, shard: ShardDep) -> DocumentsResponse:
    """Index a batch of documents (text embedded by the model, or vectors)."""
    ids = await shard.add_documents(body)
    return DocumentsResponse(ids=ids, total=shard.index.count if shard.index else 0)


@router.delete("/documents/{id}", status_code=204, responses={404: {}})
async def delete_document(shard: ShardDep, id: int = Path(ge=0, le=2**62)) -> None:
    """Remove a document from the index."""
    await shard.delete_document(id)


@router.post("/search")
async def search(body: SearchRequest, shard: ShardDep) -> SearchResponse:
    """The k nearest documents per query, nearest first, searched in micro-batches."""
    return SearchResponse(results=await shard.search(body))
