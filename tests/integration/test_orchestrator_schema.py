"""A bounded schemathesis run over a real orchestrator's OpenAPI schema (a real shard behind it) finds no 5xx."""

from collections.abc import Iterator

import pytest

from support.durable import OrchestratorReplica
from support.runtime import ADMIN_TOKEN, model_cache, request_json, running_shard
from support.schema import assert_no_server_error

OPENAI_PATHS = {"/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/models"}
EXAMPLES_PER_OPERATION = 15


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("orchestrator-schema")
    with running_shard(model_cache(tmp_path_factory), workdir, max_in_flight=64) as (_, shard):
        settings = {"admin_token": ADMIN_TOKEN, "max_upload_bytes": 64 * 1024}
        store_url = f"sqlite:///{workdir / 'store.db'}"
        orchestrator = OrchestratorReplica(store_url, {"legal": shard}, workdir, settings=settings)
        orchestrator.start()
        try:
            yield orchestrator.url
        finally:
            orchestrator.stop()


@pytest.mark.slow
def test_no_operation_answers_a_server_error(base_url: str) -> None:
    paths = request_json("GET", f"{base_url}/openapi.json")[1]["paths"]
    assert set(paths) >= OPENAI_PATHS  # the fuzzing covers the OpenAI-compatible API too
    assert_no_server_error(base_url, EXAMPLES_PER_OPERATION, 10, timeout=120)
    status, health = request_json("GET", f"{base_url}/health")
    assert status == 200, health  # the fuzzing left the orchestrator serving
