"""Schemathesis against /api/v1/openapi.json: generated requests for every operation, never a 5xx.

Driven through Hypothesis directly (schemathesis' pytest plugin does not support pytest 9 yet).
"""

from __future__ import annotations

import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from tests.conftest import Api

EXAMPLES_PER_OPERATION = 10


def test_no_request_the_schema_allows_makes_the_server_fail(app: Flask, api: Api) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 18
    for user in ("admin", "cs_agent1"):
        for operation in operations:
            # a token per operation: the fuzzer may call POST /auth/logout and end the one it has
            _fuzz(operation, {"Authorization": f"Bearer {api.fresh_token(user)}"})


def _fuzz(operation: object, headers: dict[str, str]) -> None:
    @given(case=operation.as_strategy())  # type: ignore[attr-defined]
    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)
    def no_server_error(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=headers, checks=[not_a_server_error])

    no_server_error()
