"""Helpers for the console tests: users, logins, CSRF tokens read from pages."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
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


# --- Real-browser tests (Playwright driving Debian's Chromium) -------------------------

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless=new",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_executable() -> str:
    """Debian's Chromium; skips the test when it is missing (fails on CI)."""
    import os
    import shutil

    import pytest

    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(path):
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("chromium is not installed: run scripts/system-deps.sh")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return path


@contextmanager
def serve_console(harness: Harness) -> Iterator[str]:
    """The harness's app under uvicorn on a free loopback port, with a loopback media
    server handing out the benign stand-in photo; yields the console's base URL."""
    import threading
    import time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import uvicorn
    from case_support import BENIGN_IMAGE

    from safeguard.web.settings import ConsoleSettings

    image = BENIGN_IMAGE.read_bytes()

    class Media(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(image)))
            self.end_headers()
            self.wfile.write(image)

        def log_message(self, *_args: object) -> None:
            return

    media = ThreadingHTTPServer(("127.0.0.1", 0), Media)
    threading.Thread(target=media.serve_forever, daemon=True).start()
    app = harness.client.app
    app.state.console_settings = ConsoleSettings(media_url=f"http://127.0.0.1:{media.server_port}/{{sha256}}")
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        assert server.started, "uvicorn did not start"
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        media.shutdown()
        media.server_close()
