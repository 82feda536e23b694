"""No case, evidence or report endpoint answers without the right key: each refusal is proven."""

from __future__ import annotations

import pytest
from case_support import Harness

# (method, path template, body, scope that works, scopes refused)
ENDPOINTS = [
    ("GET", "/v1/cases", None, "review", ("ingest",)),
    ("GET", "/v1/cases/{id}", None, "review", ("ingest",)),
    ("POST", "/v1/cases/{id}/notes", {"text": "n"}, "review", ("ingest",)),
    ("PUT", "/v1/cases/{id}/assignee", {"assignee": "r"}, "review", ("ingest",)),
    ("POST", "/v1/cases/{id}/decisions", {"decision": "warn"}, "review", ("ingest",)),
    ("PUT", "/v1/cases/{id}/legal-hold", {"legal_hold": True}, "admin", ("ingest", "review")),
    ("GET", "/v1/cases/{id}/reports/cybertipline", None, "review", ("ingest",)),
    ("GET", "/v1/cases/{id}/reports/nca", None, "review", ("ingest",)),
    ("GET", "/v1/reports/transparency?from=2026-01-01&to=2030-01-01", None, "review", ("ingest",)),
    ("GET", "/v1/audit/verify", None, "admin", ("ingest", "review")),
    (
        "POST",
        "/v1/reports",
        {"reporter_id": "child-1", "target_type": "account", "target_id": "adult-1", "reason": "other"},
        "ingest",
        ("review",),
    ),
]


@pytest.fixture
def case_id(lite: Harness) -> str:
    return lite.grooming_case()


@pytest.mark.parametrize(("method", "path", "body", "scope", "refused"), ENDPOINTS)
def test_each_refusal(
    lite: Harness,
    case_id: str,
    method: str,
    path: str,
    body: dict | None,
    scope: str,
    refused: tuple[str, ...],
) -> None:
    url = path.format(id=case_id)
    none = lite.client.request(method, url, json=body)
    assert none.status_code == 401
    bad = lite.client.request(method, url, json=body, headers={"Authorization": "Bearer sg_x_y"})
    assert bad.status_code == 401
    for other in refused:
        denied = lite.client.request(method, url, json=body, headers=lite.auth(other))
        assert denied.status_code == 403, (other, denied.text)
        assert "case_id" not in denied.text and "excerpt" not in denied.text
    ok = lite.client.request(method, url, json=body, headers=lite.auth(scope))
    assert ok.status_code in (200, 201), ok.text


def test_the_queue_page_and_static_files_are_the_only_open_console_paths(lite: Harness) -> None:
    case_id = lite.grooming_case()
    client = lite.client
    for path in (
        "/console",
        f"/console/cases/{case_id}",
        f"/console/cases/{case_id}/export/cybertipline",
        "/console/audit",
    ):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"] == "/console/login"
        assert "add me on snap" not in response.text
    for path in ("decision", "notes", "assign", "legal-hold", "reveal"):
        response = client.post(f"/console/cases/{case_id}/{path}", data={"decision": "ban"})
        assert response.status_code == 403, path
    assert client.get("/console/static/console.css").status_code == 200
    assert client.get("/console/login").status_code == 200


def test_openapi_documents_the_case_endpoints(lite: Harness) -> None:
    paths = lite.client.get("/openapi.json").json()["paths"]
    for path in ("/v1/reports", "/v1/appeals", "/v1/cases", "/v1/cases/{case_id}", "/v1/audit/verify"):
        assert path in paths
    assert not any(p.startswith("/console") for p in paths)
