"""Bad query parameters and bodies get a 4xx naming the field, never a 500.

Before: ``GET /v1/reports/transparency?from=2026-01-01&to=9999-12-31`` was a 500
(``OverflowError``), and a body that is not JSON named a byte offset as the field.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from safeguard.accounts.keys import create_key
from safeguard.config import Settings
from safeguard.server import create_app
from safeguard.store.db import session_scope
from safeguard.text import load_detector


@pytest.fixture
def api(tmp_path, isolated_settings: None) -> Iterator[tuple[TestClient, dict[str, str]]]:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'safeguard.db'}"
    app = create_app(Settings(database_url=url), detector=load_detector(embeddings=False))
    with session_scope(url) as session:
        key = create_key(session, ["ingest", "review"])[1]
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, {"Authorization": f"Bearer {key}"}


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        ("2026-01-01", "9999-12-31", "to"),
        ("0001-01-01", "2026-01-01", "from"),
        ("2026-02-01", "2026-01-01", "to"),
    ],
)
def test_report_dates_out_of_range_are_422(api, start: str, end: str, field: str) -> None:  # type: ignore[no-untyped-def]
    client, headers = api
    response = client.get("/v1/reports/transparency", params={"from": start, "to": end}, headers=headers)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field


def test_a_valid_report_range_still_works(api) -> None:  # type: ignore[no-untyped-def]
    client, headers = api
    response = client.get(
        "/v1/reports/transparency", params={"from": "2026-01-01", "to": "2026-12-31"}, headers=headers
    )
    assert response.status_code == 200


@pytest.mark.parametrize("path", ["/v1/messages", "/v1/accounts/someone"])
def test_a_body_that_is_not_json_names_the_body(api, path: str) -> None:  # type: ignore[no-untyped-def]
    client, headers = api
    method = client.post if path == "/v1/messages" else client.put
    response = method(
        path, content=b'{"age_band": "child",,}', headers={**headers, "content-type": "application/json"}
    )
    assert response.status_code == 422
    body = response.json()
    assert body["field"] == "body"
    assert "not valid JSON at byte 21" in body["detail"]


def test_the_cli_refuses_the_same_dates(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import os
    import subprocess
    import sys
    from pathlib import Path

    safeguard = str(Path(sys.executable).parent / "safeguard")
    env = {**os.environ, "SAFEGUARD_DATABASE_URL": f"sqlite:///{tmp_path / 'safeguard.db'}"}
    args = ["report", "transparency", "--from", "2026-01-01", "--to", "9999-12-31"]
    args += ["--out-dir", str(tmp_path)]
    result = subprocess.run([safeguard, *args], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert "--to" in result.stderr and "2999-12-31" in result.stderr
