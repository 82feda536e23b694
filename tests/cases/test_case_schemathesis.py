"""Property-based tests of the case, report and audit endpoints against their OpenAPI schema.

Every operation is called in-process with generated input and an admin key;
responses must conform to the schema and no input may cause a server error.
"""

from __future__ import annotations

import pytest
import schemathesis
from case_support import Harness
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

MAX_EXAMPLES = 15
OURS = ("/v1/cases", "/v1/reports", "/v1/appeals", "/v1/audit")
# Rules the schema cannot express: which case ids exist, which reports name their account,
# which decisions suit which kind of case, and date ranges in order.
CROSS_FIELD = {
    "POST /v1/reports",
    "POST /v1/appeals",
    "POST /v1/cases/{case_id}/decisions",
    "GET /v1/reports/transparency",
}


@pytest.mark.slow
def test_case_operations_conform_to_the_schema(lite: Harness) -> None:
    lite.grooming_case()
    schema = schemathesis.openapi.from_asgi("/openapi.json", lite.client.app)
    operations = [r.ok() for r in schema.get_all_operations()]
    operations = [op for op in operations if op.path.startswith(OURS)]
    assert len(operations) == 12
    headers = lite.auth("admin")
    for operation in operations:
        excluded = (
            [positive_data_acceptance]
            if operation.label in CROSS_FIELD or "{case_id}" in operation.path
            else []
        )
        _check(operation, headers, excluded)


def _check(operation, headers: dict, excluded: list) -> None:  # type: ignore[no-untyped-def]
    @given(case=operation.as_strategy())
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case) -> None:  # type: ignore[no-untyped-def]
        response = case.call_and_validate(headers=headers, excluded_checks=excluded)
        assert response.status_code < 500, (operation.label, response.text)

    check()
