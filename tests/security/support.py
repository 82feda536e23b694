"""Support for the security tests: the real ``safeguard serve`` on a loopback port."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

SAFEGUARD = str(Path(sys.executable).parent / "safeguard")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class RunningServer:
    """A ``safeguard serve`` process and where it listens."""

    process: subprocess.Popen[bytes]
    base_url: str


def wait_until_ready(base_url: str, timeout: float = 60.0) -> None:
    """Block until ``/healthz`` answers 200."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                return
        time.sleep(0.1)
    raise TimeoutError(f"{base_url} did not become healthy in {timeout}s")


@contextlib.contextmanager
def serve(db_url: str, *args: str, env: dict[str, str] | None = None) -> Iterator[RunningServer]:
    """Run ``safeguard serve`` on ``db_url`` until the block ends."""
    port = free_port()
    environment = {**os.environ, "SAFEGUARD_DATABASE_URL": db_url, **(env or {})}
    process = subprocess.Popen(
        [SAFEGUARD, "serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", *args],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(base_url)
        yield RunningServer(process, base_url)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
