"""Request bodies parsed by pydantic-core: the same objects as the standard library's parser, the same errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from observatory.loadgen.bench_vectors import BATCH, DocumentBatches
from observatory.runtime.json_body import JsonBodyRoute


class Body(BaseModel):
    values: list[float]
    name: str
    count: int


def _client() -> TestClient:
    router = APIRouter(route_class=JsonBodyRoute)

    @router.post("/echo")
    async def echo(body: Body) -> dict:
        return body.model_dump()

    app = FastAPI()
    app.include_router(router)
    return TestClient(app)


def test_a_body_parses_to_what_the_standard_library_reads():
    text = '{"values": [0.1, -2.5e-3, 7, 1e300], "name": "na\\u00efve \\ud83d\\ude00", "count": 9007199254740993}'
    answer = _client().post("/echo", content=text.encode(), headers={"content-type": "application/json"})
    assert answer.status_code == 200, answer.text
    assert answer.json() == json.loads(text)


@pytest.mark.parametrize("text, position", [('{"values": [1, 2', 16), ('{"values": []}\n{', 15), ("\xff", 0)])
def test_malformed_json_is_fastapis_422_at_the_offset_where_parsing_stopped(text, position):
    answer = _client().post("/echo", content=text.encode("latin-1"), headers={"content-type": "application/json"})
    assert answer.status_code == 422
    [error] = answer.json()["detail"]
    assert error["type"] == "json_invalid"
    assert error["loc"] == ["body", position]


def test_document_batches_encode_every_row_once_in_order():
    vectors = np.arange((BATCH + 3) * 2, dtype=np.float32).reshape(-1, 2)
    batches = DocumentBatches(vectors)
    assert len(batches) == 2 and len(list(batches)) == 2
    documents = [document for number in range(len(batches)) for document in json.loads(batches[number])["documents"]]
    assert [document["vector"] for document in documents] == vectors.tolist()
