"""A bounded schemathesis run over a live service's OpenAPI schema."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error


def assert_no_server_error(base_url: str, examples: int, min_operations: int, **call_options) -> None:
    """``examples`` generated requests per operation of the service at ``base_url``; any 5xx fails."""
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= min_operations

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def no_server_error(case):
            case.call_and_validate(base_url=base_url, checks=[not_a_server_error], **call_options)

        no_server_error()
