"""Redis fixture: a throw-away ``redis-server`` on a free loopback port, per test."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(autouse=True)
def _defaults(isolated_settings: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Default settings, and the detector's fast path (no transformer in tests)."""
    monkeypatch.setenv("SAFEGUARD_DETECTOR_EMBEDDINGS", "false")


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A fresh Redis on 127.0.0.1 (no persistence), shut down after the test."""
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("redis-server not found; run scripts/system-deps.sh")
        pytest.skip("redis-server not found (install the redis-server package)")
    import redis

    port = _free_port()
    workdir = tmp_path / "redis"
    workdir.mkdir()
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(workdir), "--protected-mode", "yes"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 20
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"redis-server did not start on port {port}")
            time.sleep(0.05)
    try:
        yield url
    finally:
        client.close()
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
