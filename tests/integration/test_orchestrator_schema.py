"""A bounded schemathesis run over a real orchestrator's OpenAPI schema (a real shard behind it) finds no 5xx."""

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from support.durable import OrchestratorReplica
from support.runtime import ADMIN_TOKEN, model_cache, request_json, running_shard

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
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck),
                  database=None)  # fmt: skip
        def no_server_error(case):
            case.call_and_validate(base_url=base_url, checks=[not_a_server_error], timeout=120)

        no_server_error()
    status, health = request_json("GET", f"{base_url}/health")
    assert status == 200, health  # the fuzzing left the orchestrator serving
