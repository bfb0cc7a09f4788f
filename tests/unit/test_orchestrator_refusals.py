"""Input the orchestrator refuses before any shard is asked: 4xx naming the field, never a 5xx.

The app runs in process over a real SQLite store; its shard is an address nothing listens on, so a
request that reached a shard would fail with 503, not with the refusal asserted here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from observatory.orchestrator.app import create_app
from observatory.orchestrator.durable import Store
from observatory.orchestrator.service import Orchestrator
from observatory.orchestrator.settings import OrchestratorSettings
from observatory.orchestrator.upload_limit import MULTIPART_OVERHEAD_BYTES, UploadLimit
from observatory.runtime.errors import ShardError
from support.orchestrator import pdf_with_text
from support.processes import free_port

LIMIT = 4096


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    nowhere = f"http://127.0.0.1:{free_port()}"
    settings = OrchestratorSettings(domains={"legal": {"primary": nowhere}}, max_upload_bytes=LIMIT,
                                    store_url=f"sqlite:///{tmp_path / 'store.db'}")  # fmt: skip
    store = Store.open(settings.store_url)
    with TestClient(create_app(Orchestrator(settings, store)), raise_server_exceptions=False) as test_client:
        yield test_client
    store.close()


def _refused(response, status: int, field: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["field"] == field, response.text
    assert response.json()["error"].startswith(f"{field}:"), response.text


def test_an_upload_over_the_limit_is_refused_from_its_length(client: TestClient) -> None:
    too_big = b"x" * (LIMIT + MULTIPART_OVERHEAD_BYTES + 1)
    answer = client.post("/api/v1/documents/upload", files={"file": ("a.txt", too_big, "text/plain")},
                         data={"domain": "legal"})  # fmt: skip
    _refused(answer, 413, "file")
    assert f"upload of {answer.request.headers['content-length']} bytes" in answer.json()["error"]
    # Just over the file limit but within the framing allowance: the route's own check refuses it.
    _refused(client.post("/api/v1/documents/upload", files={"file": ("a.txt", b"x" * (LIMIT + 1), "text/plain")},
                         data={"domain": "legal"}), 413, "file")  # fmt: skip


def test_the_upload_limit_answers_without_reading_the_body() -> None:
    sent: list[dict] = []

    async def app(_scope, _receive, _send) -> None:
        raise AssertionError("the request went on to the app")

    async def receive() -> dict:
        raise AssertionError("the body was read")

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/up", "headers": [(b"content-length", b"%d" % 10**9)]}
    asyncio.run(UploadLimit(app, path="/up", max_bytes=LIMIT)(scope, receive, send))
    assert sent[0]["status"] == 413
    assert b'"field": "file"' in sent[1]["body"]


@pytest.mark.parametrize(("text", "title", "field"), [("a\x00b", "t", "text"), ("words", "bad\x00title", "title")])
def test_json_text_with_nul_is_refused_naming_the_field(client: TestClient, text: str, title: str, field: str) -> None:
    _refused(client.post("/api/v1/documents", json={"domain": "legal", "title": title, "text": text}), 422, field)


def test_a_pdf_whose_text_holds_nul_is_refused_naming_the_file(client: TestClient) -> None:
    pdf = pdf_with_text(["clause one", "nul \x00 here"])
    answer = client.post("/api/v1/documents/upload", files={"file": ("c.pdf", pdf, "application/pdf")},
                         data={"domain": "legal"})  # fmt: skip
    _refused(answer, 422, "file")


def test_a_task_of_an_unknown_kind_is_refused_naming_kind(client: TestClient) -> None:
    _refused(client.post("/api/v1/tasks", json={"kind": "astrology", "request": {}}), 422, "kind")


def test_the_stores_refusal_of_text_is_a_422_naming_its_field(tmp_path: Path) -> None:
    settings = OrchestratorSettings(domains={"legal": {"primary": "http://127.0.0.1:1"}})
    store = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    orchestrator = Orchestrator(settings, store)
    with pytest.raises(ShardError) as refused:
        asyncio.run(orchestrator.in_store("add_document", domain="le\x00gal", title="t", text="words"))
    store.close()
    assert (refused.value.status, refused.value.field) == (422, "domain")
