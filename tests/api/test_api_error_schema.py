"""The documented error body is the one the API really returns."""

from __future__ import annotations

from typing import Any

import pytest
from api_support import Service
from pydantic import ValidationError

from safeguard.api.schemas.common import ErrorOut

DOCUMENTED = ("401", "403", "413", "422", "429")


def _validate(doc: dict[str, Any], path: str, method: str, status: str, body: Any) -> None:
    """``body`` has exactly the documented properties (required ones present) and parses as the model."""
    ref = doc["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]["$ref"]
    schema = doc["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    assert set(schema.get("required", [])) <= set(body), body
    assert set(body) <= set(schema["properties"]), body
    ErrorOut.model_validate(body, strict=True)


def test_error_statuses_are_documented_with_the_error_model(service: Service) -> None:
    doc = service.client.get("/openapi.json").json()
    assert "ErrorOut" in doc["components"]["schemas"]
    for path, method in (("/v1/messages", "post"), ("/v1/media", "post"), ("/v1/cases", "get")):
        responses = doc["paths"][path][method]["responses"]
        for status in DOCUMENTED:
            ref = responses[status]["content"]["application/json"]["schema"]["$ref"]
            assert ref.endswith("/ErrorOut"), (path, status)
    assert doc["paths"]["/v1/messages"]["post"]["responses"]["409"]["content"]
    assert "HTTPValidationError" not in doc["components"]["schemas"]


def test_message_route_has_examples(service: Service) -> None:
    doc = service.client.get("/openapi.json").json()
    schemas = doc["components"]["schemas"]
    assert schemas["MessageIn"]["examples"][0]["conversation_id"] == "conv-42"
    assert schemas["MessageDecisionOut"]["examples"][0]["action"] == "allow"


def test_real_422_and_401_match_the_documented_schema(service: Service) -> None:
    doc = service.client.get("/openapi.json").json()
    unauthorised = service.client.post("/v1/messages", json={})
    assert unauthorised.status_code == 401
    _validate(doc, "/v1/messages", "post", "401", unauthorised.json())
    invalid = service.client.post("/v1/messages", json={"conversation_id": "c"}, headers=service.auth())
    assert invalid.status_code == 422
    body = invalid.json()
    assert body["errors"] and body["field"] == body["errors"][0]["field"]
    _validate(doc, "/v1/messages", "post", "422", body)
    with pytest.raises(ValidationError):
        _validate(doc, "/v1/messages", "post", "422", dict(body, errors=[{"field": 3}]))
