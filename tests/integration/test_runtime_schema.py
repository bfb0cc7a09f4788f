"""A bounded schemathesis run over a real shard's OpenAPI schema finds no 5xx answer."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from support.runtime import model_cache, request_json, running_shard

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
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck),
                  database=None)  # fmt: skip
        def no_server_error(case):
            case.call_and_validate(base_url=base_url, checks=[not_a_server_error])

        no_server_error()
    status, health = request_json("GET", f"{base_url}/health")
    assert status == 200, health  # the fuzzing left the shard serving
