"""`safeguard keys create|list|revoke` and `serve` as subprocesses against both backends."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
from api_support import free_port, wait_for_port

SAFEGUARD = str(Path(sys.executable).parent / "safeguard")


def cli(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SAFEGUARD_DATABASE_URL": db_url}
    return subprocess.run([SAFEGUARD, *args], env=env, capture_output=True, text=True, timeout=60)


def test_keys_create_list_revoke(db_url: str) -> None:
    created = cli(db_url, "keys", "create", "--scope", "ingest", "--scope", "admin", "--name", "ci")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("sg_")
    key_id = key.split("_")[1]
    listed = cli(db_url, "keys", "list")
    assert f"{key_id}\tingest,admin\tactive" in listed.stdout
    assert key not in listed.stdout
    assert cli(db_url, "keys", "revoke", key_id).returncode == 0
    assert f"{key_id}\tingest,admin\trevoked" in cli(db_url, "keys", "list").stdout


def test_bad_scope_exits_2_with_one_line(db_url: str) -> None:
    result = cli(db_url, "keys", "create", "--scope", "root")
    assert result.returncode == 2
    assert "unknown scope 'root'" in result.stderr


def test_serve_starts_on_a_loopback_port(db_url: str) -> None:
    port = free_port()
    key = cli(db_url, "keys", "create", "--scope", "review").stdout.strip().splitlines()[-1]
    env = {**os.environ, "SAFEGUARD_DATABASE_URL": db_url}
    server = subprocess.Popen(
        [SAFEGUARD, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        wait_for_port(port)
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").json() == {"status": "ok"}
        risk = httpx.get(
            f"http://127.0.0.1:{port}/v1/accounts/x/risk", headers={"Authorization": f"Bearer {key}"}
        )
        assert risk.status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=20)
