"""A bounded schemathesis run over a real shard's OpenAPI schema finds no 5xx answer."""

import pytest

from support.runtime import model_cache, request_json, running_shard
from support.schema import assert_no_server_error

OPENAI_PATHS = {"/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/models"}
EXAMPLES_PER_OPERATION = 30


@pytest.fixture(scope="module")
def base_url(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("schema")
    with running_shard(model_cache(tmp_path_factory), workdir, max_in_flight=64) as (_, base):
        # Documents in the index, so that valid searches reach FAISS rather than stopping at k.
        vectors = [[float((i * 7 + j) % 13) for j in range(64)] for i in range(50)]
        status, _ = request_json("POST", f"{base}/api/v1/documents", {"documents": [{"vector": v} for v in vectors]})
        assert status == 201
        yield base


@pytest.mark.slow
def test_no_operation_answers_a_server_error(base_url):
    paths = request_json("GET", f"{base_url}/openapi.json")[1]["paths"]
    assert set(paths) >= OPENAI_PATHS  # the fuzzing covers the OpenAI-compatible API too
    assert_no_server_error(base_url, EXAMPLES_PER_OPERATION, 10)
    status, health = request_json("GET", f"{base_url}/health")
    assert status == 200, health  # the fuzzing left the shard serving
