"""Helpers for the console tests: users, logins, CSRF tokens read from pages."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cases"))

from case_support import Harness, bank_benign_image, build  # noqa: F401

PASSWORDS = {"rev": "reviewer-pass-1", "rev2": "reviewer-pass-2", "boss": "admin-pass-123"}
ROLES = {"rev": "reviewer", "rev2": "reviewer", "boss": "admin"}


def create_users(url: str) -> None:
    from safeguard.store.db import session_scope
    from safeguard.web.auth import create_user

    with session_scope(url) as session:
        for name, password in PASSWORDS.items():
            create_user(session, name, password, ROLES[name])


def csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html[:500]
    return match.group(1)


def browser(harness: Harness) -> TestClient:
    """A fresh browser-like client on HTTPS (console cookies are Secure by default)."""
    return TestClient(harness.client.app, base_url="https://testserver")


def login(harness: Harness, username: str) -> TestClient:
    """A fresh browser-like client logged in as ``username``."""
    client = browser(harness)
    page = client.get("/console/login")
    response = client.post(
        "/console/login",
        data={"username": username, "password": PASSWORDS[username], "csrf_token": csrf(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return client
