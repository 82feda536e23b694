"""The audit signing key and signed checkpoints: files, signatures, refusals, and the service's
maintenance task writing them (and sending them to a webhook)."""

from __future__ import annotations

import json
import os
import stat
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from safeguard.config import Settings, get_settings
from safeguard.errors import InputError
from safeguard.evidence import chain, keys
from safeguard.evidence.checkpoints import (
    CheckpointRefused,
    checkpoint_path,
    last_checkpoint,
    parse_line,
    read_checkpoints,
    read_head,
    sign_head,
    write_checkpoint,
)
from safeguard.store.db import session_scope


def _settings(tmp_path: Path, url: str, **audit: object) -> Settings:
    return Settings(database_url=url, data_dir=tmp_path / "data", audit=audit)


def _fill(url: str, n: int = 3) -> None:
    with session_scope(url) as session:
        for i in range(n):
            chain.append(session, kind="audit", action="view_case", actor="console:rev", payload={"i": i})


def test_the_key_is_created_private_with_its_public_key(tmp_path: Path, sqlite_url: str) -> None:
    settings = _settings(tmp_path, sqlite_url)
    key, created = keys.ensure_signing_key(settings)
    assert created
    path = keys.key_path(settings)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    public = keys.load_public_key(keys.public_key_path(settings))
    assert keys.key_id(public) == keys.key_id(key.public_key())
    again, created_again = keys.ensure_signing_key(settings)
    assert not created_again
    assert keys.key_id(again.public_key()) == keys.key_id(key.public_key())


def test_a_key_others_can_read_is_refused(tmp_path: Path, sqlite_url: str) -> None:
    settings = _settings(tmp_path, sqlite_url)
    keys.ensure_signing_key(settings)
    path = keys.key_path(settings)
    os.chmod(path, 0o640)
    with pytest.raises(InputError, match="accessible by other users"):
        keys.load_signing_key(path)


def test_init_key_is_idempotent(monkeypatch: pytest.MonkeyPatch, sqlite_url: str, tmp_path: Path) -> None:
    from safeguard.cli import app

    monkeypatch.setenv("SAFEGUARD_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("SAFEGUARD_AUDIT__KEY_PATH", str(tmp_path / "keys" / "audit.pem"))
    get_settings.cache_clear()
    first = CliRunner().invoke(app, ["audit", "init-key"])
    second = CliRunner().invoke(app, ["audit", "init-key"])
    assert first.exit_code == second.exit_code == 0
    assert "created" in first.output and "exists" in second.output
    assert first.output.split("(key ")[1][:16] == second.output.split("(key ")[1][:16]
    assert (tmp_path / "keys" / "audit.pem.pub").exists()


def test_a_checkpoint_round_trips_and_any_changed_field_breaks_it(tmp_path: Path, sqlite_url: str) -> None:
    _fill(sqlite_url)
    settings = _settings(tmp_path, sqlite_url)
    key, _ = keys.ensure_signing_key(settings)
    with session_scope(sqlite_url) as session:
        checkpoint = sign_head(session, key, read_head(session))
    line = json.dumps(checkpoint.to_dict())
    parsed = parse_line(line, Path("f"), 1)
    assert parsed.seq == 3 and parsed.signed_by(key.public_key())
    for name, value in (("seq", 2), ("head_hash", "a" * 64), ("at", "2020-01-01T00:00:00+00:00")):
        changed = parse_line(json.dumps({**checkpoint.to_dict(), name: value}), Path("f"), 1)
        assert not changed.signed_by(key.public_key()), name


def test_the_last_checkpoint_is_read_from_the_end(tmp_path: Path, sqlite_url: str) -> None:
    _fill(sqlite_url, 1)
    settings = _settings(tmp_path, sqlite_url)
    key, _ = keys.ensure_signing_key(settings)
    with session_scope(sqlite_url) as session:
        checkpoint = sign_head(session, key, read_head(session))
    path = tmp_path / "many.jsonl"
    lines = [json.dumps({**checkpoint.to_dict(), "seq": i}) for i in range(3000)]
    path.write_text("\n".join(lines) + "\n")
    assert last_checkpoint(path).seq == 2999  # type: ignore[union-attr]
    assert len(read_checkpoints(path)) == 3000


def test_only_if_moved_writes_nothing_for_an_unchanged_head(tmp_path: Path, sqlite_url: str) -> None:
    _fill(sqlite_url)
    settings = _settings(tmp_path, sqlite_url)
    with session_scope(sqlite_url) as session:
        assert write_checkpoint(session, settings, only_if_moved=True) is not None
        assert write_checkpoint(session, settings, only_if_moved=True) is None
    _fill(sqlite_url, 1)
    with session_scope(sqlite_url) as session:
        assert write_checkpoint(session, settings, only_if_moved=True).checkpoint.seq == 4  # type: ignore[union-attr]
    assert [c.seq for c in read_checkpoints(checkpoint_path(settings))] == [3, 4]


def test_a_file_signed_by_another_key_is_not_extended(tmp_path: Path, sqlite_url: str) -> None:
    _fill(sqlite_url)
    settings = _settings(tmp_path, sqlite_url)
    with session_scope(sqlite_url) as session:
        write_checkpoint(session, settings)
    keys.key_path(settings).unlink()
    keys.public_key_path(settings).unlink()
    with session_scope(sqlite_url) as session, pytest.raises(CheckpointRefused, match="signed by key"):
        write_checkpoint(session, settings)


def test_a_broken_chain_is_never_signed(tmp_path: Path, sqlite_url: str) -> None:
    from sqlalchemy import text

    _fill(sqlite_url)
    settings = _settings(tmp_path, sqlite_url)
    with session_scope(sqlite_url) as session:
        session.execute(text("UPDATE evidence_records SET actor = 'x' WHERE seq = 2"))
    with session_scope(sqlite_url) as session, pytest.raises(CheckpointRefused, match="record 2"):
        write_checkpoint(session, settings)
    assert not checkpoint_path(settings).exists() or not checkpoint_path(settings).read_text()


class _Receiver:
    """A loopback HTTP server that keeps what it was sent."""

    def __init__(self) -> None:
        self.received: list[tuple[dict, bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.received.append((dict(self.headers), body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/checkpoints"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    server = _Receiver()
    yield server
    server.server.shutdown()
    server.server.server_close()


def test_the_running_service_signs_checkpoints_and_sends_them(
    tmp_path: Path, sqlite_url: str, receiver: _Receiver
) -> None:
    """The maintenance task of a running app writes checkpoints on its own and queues them for a
    webhook target subscribed to ``audit_checkpoint``; the receiver checks the Ed25519 signature."""
    from fastapi.testclient import TestClient

    from safeguard.server import create_app
    from safeguard.service.webhooks import SIGNATURE_HEADER
    from safeguard.service.webhooks import verify as verify_hmac
    from safeguard.text import load_detector

    _fill(sqlite_url)
    settings = Settings(
        database_url=sqlite_url,
        data_dir=tmp_path / "data",
        audit={"checkpoint_interval_seconds": 0.2},
        webhooks={"targets": [{"url": receiver.url, "secret": "s3cret-key", "events": ["audit_checkpoint"]}]},
        detector_embeddings=False,
    )
    app = create_app(settings, detector=load_detector(None, embeddings=False))
    with TestClient(app):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not receiver.received:
            time.sleep(0.05)
    path = checkpoint_path(settings)
    written = read_checkpoints(path)
    assert written and written[0].seq >= 3
    headers, body = receiver.received[0]
    assert headers["X-Safeguard-Event"] == "audit_checkpoint"
    assert verify_hmac("s3cret-key", headers[SIGNATURE_HEADER], body)
    sent = parse_line(body.decode(), Path("webhook"), 1)
    assert sent.signed_by(keys.load_public_key(keys.public_key_path(settings)))
    assert sent.seq == written[0].seq
