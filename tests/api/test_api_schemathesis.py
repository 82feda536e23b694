"""Property-based tests of the whole API against its own OpenAPI schema (schemathesis).

Every operation is called in-process (ASGI) with generated valid input and a
valid admin key; responses must conform to the schema, and no input may cause
a server error. Examples are bounded and derandomised.
"""

from __future__ import annotations

import pytest
import schemathesis
from api_support import Service
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

MAX_EXAMPLES = 30
# Rules the schema cannot express: a == b is refused (400); media needs at least one
# hash, and an upload must decode as an image (422).
CROSS_FIELD = {"PUT /v1/connections/{a}/{b}", "DELETE /v1/connections/{a}/{b}", "POST /v1/media"}


# The safety service's own roles; routes other packages mount have their own tests.
MINE = (
    "/healthz",
    "/metrics",
    "/v1/accounts",
    "/v1/connections",
    "/v1/contact-confirmations",
    "/v1/connection-requests",
    "/v1/suggestions",
    "/v1/messages",
    "/v1/media",
)


def _operations(service: Service) -> list:  # type: ignore[type-arg]
    schema = schemathesis.openapi.from_asgi("/openapi.json", service.client.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    return [op for op in operations if op.path.startswith(MINE)]


@pytest.mark.slow
def test_every_operation_conforms_to_the_schema(service: Service) -> None:
    headers = service.auth("admin")
    operations = _operations(service)
    assert len(operations) == 13
    for operation in operations:
        excluded = [positive_data_acceptance] if operation.label in CROSS_FIELD else []
        _check(operation, headers, excluded)


def _check(operation, headers: dict, excluded: list) -> None:  # type: ignore[no-untyped-def]
    """Run the bounded property test of one operation."""

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
