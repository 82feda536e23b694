"""Issue 15 items 9, 10 and 12 (part): Secure cookies, trusted hosts, header size, fixed status messages.

The Host and header checks run against the real server (`safeguard serve`
in a subprocess, httptools): a 50 MB header is refused while it arrives,
with the server's memory unchanged.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))

from web_support import PASSWORDS, Harness, build, create_users, csrf

SAFEGUARD = str(Path(sys.executable).parent / "safeguard")
MB = 1024 * 1024


@pytest.fixture
def console(isolated_settings: None, tmp_path: Path) -> Iterator[Harness]:
    """An in-process service with users rev, rev2 and boss, on SQLite."""
    from safeguard.store.db import dispose_engines

    url = f"sqlite:///{tmp_path / 'console.db'}"
    harness, client = build(url)
    create_users(url)
    yield harness
    client.__exit__(None, None, None)
    dispose_engines()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """`safeguard serve` on its defaults (SQLite under tmp); yields its base URL and process id."""
    root = tmp_path_factory.mktemp("served")
    port = free_port()
    env = {
        **os.environ,
        "SAFEGUARD_CONFIG": str(root / "absent.toml"),
        "SAFEGUARD_DATA_DIR": str(root / "data"),
        "SAFEGUARD_DATABASE_URL": f"sqlite:///{root / 'serve.db'}",
        "SAFEGUARD_DETECTOR_EMBEDDINGS": "false",
    }
    process = subprocess.Popen(
        [SAFEGUARD, "serve", "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=5).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert process.poll() is None and time.monotonic() < deadline, "safeguard serve did not start"
        time.sleep(0.1)
    try:
        yield base, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def memory_kb(pid: int) -> dict[str, int]:
    """Resident and peak resident memory of ``pid`` (kB)."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0])
    return fields


def raw_request(base: str, head: bytes, filler: int = 0, chunk: int = 64 * 1024) -> tuple[bytes, float]:
    """Send ``head`` then ``filler`` bytes of one header value; the response (or b"") and seconds taken."""
    host, port = base.removeprefix("http://").split(":")
    start = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        received = b""
        try:
            sock.sendall(head)
            sent = 0
            while sent < filler:
                sock.sendall(b"a" * min(chunk, filler - sent))
                sent += chunk
            sock.sendall(b"\r\n\r\n")
        except OSError:
            pass
        try:
            while data := sock.recv(65536):
                received += data
        except OSError:
            pass
    return received, time.monotonic() - start


# Item 9: Secure cookies by default.


def test_console_cookies_are_secure_by_default(console: Harness) -> None:
    from safeguard.web.settings import ConsoleSettings

    assert ConsoleSettings().secure_cookies is True
    client = TestClient(console.client.app, base_url="https://testserver")
    page = client.get("/console/login")
    assert "Secure" in page.headers["set-cookie"]
    response = client.post(
        "/console/login",
        data={"username": "rev", "password": PASSWORDS["rev"], "csrf_token": csrf(page.text)},
        follow_redirects=False,
    )
    cookies = response.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("sg_console="))
    assert "Secure" in session and "HttpOnly" in session
    token = csrf(client.get("/console").text)
    out = client.post("/console/logout", data={"csrf_token": token}, follow_redirects=False)
    assert "Secure" in out.headers["set-cookie"]


def test_plain_http_cookies_only_with_the_development_setting(
    console: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAFEGUARD_CONSOLE_SECURE_COOKIES", "false")
    console.client.app.state.console_settings = None
    page = TestClient(console.client.app).get("/console/login")
    assert "sg_login_csrf=" in page.headers["set-cookie"] and "Secure" not in page.headers["set-cookie"]


def test_the_demo_sets_the_development_cookie_setting(
    isolated_settings: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    import safeguard.server.serve
    from safeguard.cli import app

    monkeypatch.delenv("SAFEGUARD_CONSOLE_SECURE_COOKIES", raising=False)
    seen: dict[str, str | None] = {}

    def fake_run(**_kwargs: object) -> None:
        seen["cookies"] = os.environ.get("SAFEGUARD_CONSOLE_SECURE_COOKIES")

    monkeypatch.setattr(safeguard.server.serve, "run", fake_run)
    result = CliRunner().invoke(app, ["demo", "--fast"])
    os.environ.pop("SAFEGUARD_CONSOLE_SECURE_COOKIES", None)
    assert result.exit_code == 0, result.output
    assert seen == {"cookies": "false"}
    assert "not Secure" in result.output


# Item 10: trusted hosts, and redirects that never echo the Host header.


def test_served_app_refuses_an_untrusted_host(server: tuple[str, int]) -> None:
    base, _pid = server
    for path in ("/console/", "/console", "/console/login", "/healthz", "/docs/"):
        response = httpx.get(f"{base}{path}", headers={"Host": "evil.example"}, follow_redirects=False)
        assert response.status_code == 400, path
        assert "evil.example" not in response.headers.get("location", "")
    login = httpx.post(
        f"{base}/console/login",
        headers={"Host": "evil.example"},
        data={"username": "x"},
        follow_redirects=False,
    )
    assert login.status_code == 400


def test_served_app_redirects_relative_for_a_trusted_host(server: tuple[str, int]) -> None:
    base, _pid = server
    port = base.rsplit(":", 1)[1]
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost"):
        response = httpx.get(f"{base}/console/", headers={"Host": host}, follow_redirects=False)
        assert response.status_code in (307, 308), host
        assert response.headers["location"] == "/console", host
    assert httpx.get(f"{base}/console/login", headers={"Host": "[::1]"}).status_code == 200


def test_configured_hosts_replace_the_defaults(console: Harness) -> None:
    from case_support import KeywordDetector

    from safeguard.config import HttpFront, Settings
    from safeguard.server import create_app

    settings = Settings(database_url=console.url, http=HttpFront(allowed_hosts=["console.example.org"]))
    app = create_app(settings, detector=KeywordDetector())
    ok = TestClient(app, base_url="https://console.example.org").get("/console/login")
    assert ok.status_code == 200
    assert TestClient(app, base_url="https://evil.example").get("/console/login").status_code == 400
    assert TestClient(app, base_url="https://localhost").get("/console/login").status_code == 400


def test_redirects_stay_relative_even_without_a_host_check(console: Harness) -> None:
    client = TestClient(console.client.app, base_url="https://testserver")
    for path, target in (("/console/", "/console"), ("/healthz/", "/healthz")):
        response = client.get(path, headers={"Host": "evil.example"}, follow_redirects=False)
        assert response.status_code in (307, 308)
        assert response.headers["location"] == target


def test_default_allowed_hosts_follow_the_bind_address() -> None:
    from safeguard.api.hosts import default_allowed_hosts, served_hosts

    loopback = ["localhost", "127.0.0.1", "[::1]"]
    assert default_allowed_hosts(None) == loopback
    assert default_allowed_hosts("127.0.0.1") == loopback
    assert default_allowed_hosts("10.1.2.3") == [*loopback, "10.1.2.3"]
    assert default_allowed_hosts("fe80::1") == [*loopback, "[fe80::1]"]
    assert default_allowed_hosts("Safeguard.Internal") == [*loopback, "safeguard.internal"]
    wildcard = default_allowed_hosts("0.0.0.0")
    assert wildcard[:3] == loopback and socket.gethostname().lower() in wildcard
    assert "0.0.0.0" not in wildcard and "*" not in wildcard
    assert served_hosts(["console.example.org"], "0.0.0.0") == ["console.example.org"]


# Item 12: header size, and fixed status messages.


def test_a_50_mb_header_is_refused_while_it_arrives(server: tuple[str, int]) -> None:
    base, pid = server
    before = memory_kb(pid)
    head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Filler: "
    response, seconds = raw_request(base, head, filler=50 * MB)
    after = memory_kb(pid)
    assert response == b"" or response.startswith(b"HTTP/1.1 431"), response[:80]
    assert seconds < 15, f"took {seconds:.1f} s"
    grew = {k: after[k] - before[k] for k in after}
    assert max(grew.values()) < 16 * 1024, f"server memory grew by {grew} kB"
    assert httpx.get(f"{base}/healthz", timeout=10).status_code == 200


def test_headers_dripped_in_small_pieces_are_counted_together(server: tuple[str, int]) -> None:
    base, _pid = server
    head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Filler: "
    response, _seconds = raw_request(base, head, filler=64 * 1024, chunk=1024)
    assert response == b"" or response.startswith(b"HTTP/1.1 431"), response[:80]


def test_ordinary_and_pipelined_requests_pass(server: tuple[str, int]) -> None:
    base, _pid = server
    large = httpx.get(f"{base}/healthz", headers={"X-Filler": "a" * 20_000})
    assert large.status_code == 200
    one = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Filler: " + b"b" * 16_000 + b"\r\n\r\n"
    last = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    response, _seconds = raw_request(base, one + one + last)
    assert response.count(b"HTTP/1.1 200") == 3, response[:300]


def test_the_asgi_entry_caps_headers_under_any_server(console: Harness) -> None:
    response = console.client.get("/healthz", headers={"X-Filler": "a" * 40_000})
    assert response.status_code == 431 and response.json()["field"] == "headers"
    assert console.client.get("/healthz", headers={"X-Filler": "a" * 20_000}).status_code == 200


@pytest.mark.parametrize(
    "msg",
    [
        "Your account is suspended: call +44 20 7946 0000",
        "<b>Decision recorded</b>",
        "Decision recorded: dismiss",
        "decision_recorded ",
    ],
)
def test_case_status_box_shows_only_fixed_messages(console: Harness, msg: str) -> None:
    case_id = console.grooming_case()
    client = TestClient(console.client.app, base_url="https://testserver")
    token = csrf(client.get("/console/login").text)
    client.post("/console/login", data={"username": "rev", "password": PASSWORDS["rev"], "csrf_token": token})
    page = client.get(f"/console/cases/{case_id}", params={"msg": msg})
    assert page.status_code == 200
    assert 'class="flash"' not in page.text
    assert "suspended" not in page.text and "7946" not in page.text
    known = client.get(f"/console/cases/{case_id}?msg=decision_recorded")
    assert re.search(r'<p class="flash" role="status">Decision recorded\.</p>', known.text)
