"""API test fixtures: an in-process service per backend, with keys for every scope."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from api_fake_detector import FakeDetector
from api_support import Service, make_keys
from fastapi.testclient import TestClient

from safeguard.config import Settings
from safeguard.server import create_app


@pytest.fixture(autouse=True)
def _defaults(isolated_settings: None) -> None:
    """Apply the root ``isolated_settings`` fixture to every test in this folder."""


@pytest.fixture
def make_service(db_url: str) -> Iterator[Callable[..., Service]]:
    """Build a service on this test's database, optionally with settings overrides."""
    clients: list[TestClient] = []

    def build(detector=None, **overrides) -> Service:  # type: ignore[no-untyped-def]
        settings = Settings(database_url=db_url, **overrides)
        app = create_app(settings, detector=detector or FakeDetector())
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        return Service(client, db_url, settings, make_keys(db_url))

    yield build
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def service(make_service: Callable[..., Service]) -> Service:
    """A service with default settings, the fake detector, and demo-like accounts."""
    svc = make_service()
    for account_id, band in (
        ("child-1", "child"),
        ("child-2", "child"),
        ("teen-1", "teen"),
        ("adult-1", "adult"),
        ("adult-2", "adult"),
    ):
        svc.put_account(account_id, band)
    svc.connect("child-1", "child-2")
    svc.connect("adult-2", "child-1")
    return svc
