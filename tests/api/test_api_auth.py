"""Every endpoint but the probes (/healthz, /readyz) needs a key; each refusal (none, bad,
revoked, scope) is proven."""

from __future__ import annotations

import re

import pytest
from api_support import Service

from safeguard.accounts.keys import revoke_key
from safeguard.store.db import session_scope

# (method, path, scope that works, a scope that is refused)
ENDPOINTS = [
    ("PUT", "/v1/accounts/a1", "ingest", "review"),
    ("GET", "/v1/accounts/child-1", "review", None),
    ("GET", "/v1/accounts/child-1/connections", "review", None),
    ("GET", "/v1/accounts/a1/risk", "review", "ingest"),
    ("PUT", "/v1/connections/a1/a2", "ingest", "review"),
    ("DELETE", "/v1/connections/a1/a2", "ingest", "review"),
    ("PUT", "/v1/contact-confirmations/child-1/a2", "ingest", "review"),
    ("POST", "/v1/messages", "ingest", "review"),
    ("POST", "/v1/connection-requests", "ingest", "review"),
    ("POST", "/v1/suggestions/filter", "ingest", "review"),
    ("POST", "/v1/media", "ingest", "review"),
    ("GET", "/metrics", "admin", "ingest"),
]
BODIES = {
    "/v1/accounts/a1": {"age_band": "adult"},
    "/v1/messages": {
        "conversation_id": "c",
        "message_id": "m",
        "sender_id": "s",
        "text": "hi",
        "recipient_ids": ["r"],
    },
    "/v1/connection-requests": {"requester_id": "a1", "target_id": "a2"},
    "/v1/suggestions/filter": {"viewer_id": "a1", "candidate_ids": ["a2"]},
    "/v1/media": {"sender_id": "a1", "sha256": "0" * 64},
}


def test_every_documented_operation_but_healthz_needs_a_key(service: Service) -> None:
    schema = service.client.get("/openapi.json").json()
    documented = {
        (method.upper(), path) for path, ops in schema["paths"].items() for method in ops
    }
    mine = set()
    for method, path, _, _ in ENDPOINTS:
        for m, template in documented:
            pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
            if m == method and re.match(pattern, path):
                mine.add((m, template))
    assert len(mine) == len(ENDPOINTS)
    for method, template in sorted(documented - {("GET", "/healthz"), ("GET", "/readyz")}):
        path = re.sub(r"\{[^}]+\}", "x1", template)
        response = service.client.request(method, path)
        assert response.status_code == 401, (method, template, response.status_code)


def test_healthz_needs_no_key(service: Service) -> None:
    response = service.client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.parametrize(("method", "path", "scope", "refused"), ENDPOINTS)
def test_no_key_is_401(service: Service, method: str, path: str, scope: str, refused: str) -> None:
    response = service.client.request(method, path, json=BODIES.get(path))
    assert response.status_code == 401
    assert "missing API key" in response.json()["detail"]
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(("method", "path", "scope", "refused"), ENDPOINTS)
def test_wrong_key_is_401(service: Service, method: str, path: str, scope: str, refused: str) -> None:
    response = service.client.request(
        method, path, json=BODIES.get(path), headers={"Authorization": "Bearer sg_nope_nope"}
    )
    assert response.status_code == 401
    assert response.json()["detail"] == "invalid or revoked API key"


@pytest.mark.parametrize(("method", "path", "scope", "refused"), ENDPOINTS)
def test_scopes(service: Service, method: str, path: str, scope: str, refused: str | None) -> None:
    ok = service.client.request(method, path, json=BODIES.get(path), headers=service.auth(scope))
    assert ok.status_code not in (401, 403), ok.text
    admin = service.client.request(method, path, json=BODIES.get(path), headers=service.auth("admin"))
    assert admin.status_code not in (401, 403), admin.text
    if refused is not None:
        denied = service.client.request(method, path, json=BODIES.get(path), headers=service.auth(refused))
        assert denied.status_code == 403
        assert f"lacks the '{scope}" in denied.json()["detail"]


def test_revoked_key_is_refused(service: Service) -> None:
    service.client.app.state.services.keys.ttl = 0
    headers = service.auth("review")
    assert service.client.get("/v1/accounts/child-1", headers=headers).status_code == 200
    with session_scope(service.url) as session:
        key_id = service.keys["review"].split("_")[1]
        revoke_key(session, key_id)
    response = service.client.get("/v1/accounts/child-1", headers=headers)
    assert response.status_code == 401
