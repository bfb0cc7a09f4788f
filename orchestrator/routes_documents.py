"""Documents: JSON text or an uploaded file (text, Markdown, PDF), chunked, indexed and stored."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile

from observatory.orchestrator.deps import OrchestratorDep
from observatory.orchestrator.documents import chunks, upload_text
from observatory.orchestrator.durable.store import check_text
from observatory.orchestrator.schemas import DocumentIn, DocumentOut
from observatory.orchestrator.service import Orchestrator
from observatory.runtime.errors import ShardError, input_error
from observatory.runtime.json_body import JsonBodyRoute
from observatory.runtime.schemas import MAX_BATCH

router = APIRouter(prefix="/api/v1/documents", tags=["documents"], route_class=JsonBodyRoute)
UPLOAD_PATH = "/api/v1/documents/upload"


async def store_document(
    orchestrator: Orchestrator, domain: str, title: str, text: str, source: str | None = None
) -> DocumentOut:
    """Index ``text``'s chunks on the domain's primary shard, then keep the document in the store.

    Indexing comes first, so a shard that cannot take the chunks leaves no document behind (503).
    Text the store cannot keep (a NUL character) is refused first, with 422 naming ``source`` (the
    field the text came from) or else ``title`` or ``text``.
    """
    try:
        check_text(title=title, text=text)
    except ValueError as error:
        field = source or str(error).partition(":")[0]
        raise input_error(field, f"{field}: {str(error).partition(': ')[2]}") from None
    pieces = chunks(text, orchestrator.settings.chunk_chars)
    if not pieces:
        raise ShardError(422, "text: holds no words", "text")
    shard = orchestrator.pool.primary(domain)
    for start in range(0, len(pieces), MAX_BATCH):
        batch = {"documents": [{"text": piece} for piece in pieces[start : start + MAX_BATCH]]}
        # Indexing is not a routed task; a refusal comes back as the shard's own 4xx (first_answer relays it).
        await orchestrator.route(domain, [shard], "POST", "/api/v1/documents", task=False, json=batch,
                                 timeout=orchestrator.settings.timeouts.inference)  # fmt: skip
    document_id = await orchestrator.in_store("add_document", domain=domain, title=title, text=text)
    return DocumentOut(document_id=document_id, shard=shard.name, chunks=len(pieces))


@router.post("", responses={422: {}, 503: {}})
async def add_document(body: DocumentIn, orchestrator: OrchestratorDep) -> DocumentOut:
    """Store a text document for a domain and index it on the domain's shard."""
    domain = orchestrator.pool.domain(body.domain, "domain")
    return await store_document(orchestrator, domain, body.title, body.text)


@router.post(UPLOAD_PATH.removeprefix(router.prefix), responses={413: {}, 415: {}, 422: {}, 503: {}})
async def upload_document(
    orchestrator: OrchestratorDep, file: Annotated[UploadFile, File()], domain: Annotated[str, Form()]
) -> DocumentOut:
    """Store an uploaded plain text, Markdown or PDF file (multipart ``file`` and ``domain``)."""
    domain = orchestrator.pool.domain(domain, "domain")
    limit = orchestrator.settings.max_upload_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise ShardError(413, f"file: larger than {limit} bytes", "file")
    text = upload_text(file.filename or "", file.content_type, data)
    return await store_document(orchestrator, domain, file.filename or "", text, source="file")
