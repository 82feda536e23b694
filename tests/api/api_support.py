"""Support for the API tests: the in-process service handle and loopback helpers."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field

from fastapi.testclient import TestClient

from safeguard.accounts.keys import create_key
from safeguard.config import Settings
from safeguard.store.db import session_scope


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    """Block until something listens on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


@dataclass
class Service:
    """A running app (in-process), its database and keys per scope."""

    client: TestClient
    url: str
    settings: Settings
    keys: dict[str, str] = field(default_factory=dict)

    def auth(self, scope: str = "ingest") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[scope]}"}

    def put_account(self, account_id: str, band: str, assurance: str = "verified") -> None:
        response = self.client.put(
            f"/v1/accounts/{account_id}",
            json={"age_band": band, "age_assurance": assurance},
            headers=self.auth(),
        )
        assert response.status_code == 200, response.text

    def connect(self, a: str, b: str) -> None:
        assert self.client.put(f"/v1/connections/{a}/{b}", headers=self.auth()).status_code == 200

    def message(
        self,
        sender: str,
        recipients: list[str],
        text: str,
        *,
        message_id: str,
        conversation_id: str = "conv-1",
    ) -> dict:
        response = self.client.post(
            "/v1/messages",
            json={
                "conversation_id": conversation_id,
                "message_id": message_id,
                "sender_id": sender,
                "text": text,
                "recipient_ids": recipients,
            },
            headers=self.auth(),
        )
        assert response.status_code == 200, response.text
        return response.json()


def make_keys(url: str) -> dict[str, str]:
    keys = {}
    with session_scope(url) as session:
        for scope in ("ingest", "review", "admin"):
            keys[scope] = create_key(session, [scope], name=f"test-{scope}")[1]
    return keys
