"""The interactive API docs work offline: every asset is served by the service itself."""

from __future__ import annotations

import re

from api_support import Service


def test_docs_page_references_no_external_url(service: Service) -> None:
    response = service.client.get("/docs")
    assert response.status_code == 200
    assert "text/html" in response.headers["content-type"]
    assert not re.search(r"https?://", response.text)
    assert "/openapi.json" in response.text


def test_docs_assets_are_served_locally(service: Service) -> None:
    html = service.client.get("/docs").text
    assets = re.findall(r"""(?:src|href)=["'](/docs-assets/[^"']+)["']""", html)
    assert {a.rsplit(".", 1)[-1] for a in assets} >= {"js", "css", "png"}
    for asset in assets:
        assert service.client.get(asset).status_code == 200, asset


def test_redoc_is_not_served(service: Service) -> None:
    assert service.client.get("/redoc").status_code == 404
