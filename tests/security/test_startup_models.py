"""Models load at start-up, off the event loop; readiness says when they are in.

Before: the first message that reached the embedding stage loaded the sentence
model on the event loop, and took 12-18 s while nothing else was answered.
"""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from fastapi.testclient import TestClient

from safeguard.accounts.keys import create_key
from safeguard.accounts.service import upsert_account
from safeguard.config import Settings
from safeguard.server import create_app
from safeguard.store.db import session_scope
from safeguard.text import load_detector

from .support import serve


class SlowToLoad:
    """The real fast-path detector behind a model that takes ``seconds`` to load."""

    def __init__(self, seconds: float) -> None:
        self._inner = load_detector(embeddings=False)
        self.seconds = seconds
        self.loaded = threading.Event()

    def warm(self) -> None:
        time.sleep(self.seconds)
        self.loaded.set()

    def new_conversation(self, conversation_id: str):  # type: ignore[no-untyped-def]
        assert self.loaded.is_set(), "a message was scored before the models were loaded"
        return self._inner.new_conversation(conversation_id)

    def restore_conversation(self, data: dict):  # type: ignore[no-untyped-def]
        assert self.loaded.is_set(), "a message was scored before the models were loaded"
        return self._inner.restore_conversation(data)


def test_readiness_waits_for_the_models_and_messages_wait_off_the_loop(tmp_path, isolated_settings) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'safeguard.db'}"
    detector = SlowToLoad(1.5)
    app = create_app(Settings(database_url=url), detector=detector)
    with session_scope(url) as session:
        key = create_key(session, ["ingest"])[1]
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200  # alive while loading
        loading = client.get("/readyz")
        assert loading.status_code == 503 and loading.json()["checks"]["text_detector"] == "loading"
        body = {"conversation_id": "c", "message_id": "m", "sender_id": "a", "recipient_ids": ["b"]}
        body["text"] = "hi"
        decided = client.post("/v1/messages", json=body, headers={"Authorization": f"Bearer {key}"})
        assert decided.status_code == 200 and detector.loaded.is_set()
        ready = client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["checks"]["text_detector"] == "loaded"
        assert ready.json()["checks"]["database"] == "ok"


@pytest.mark.slow
def test_the_first_flagged_message_does_not_wait_for_a_model(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The real server with its default detector (embedding stage on)."""
    url = f"sqlite:///{tmp_path / 'safeguard.db'}"
    with session_scope(url) as session:
        key = create_key(session, ["ingest"])[1]
        upsert_account(session, "kid1", age_band="child", settings=Settings(database_url=url))
    with serve(url, env={"SAFEGUARD_DETECTOR_EMBEDDINGS": "true"}) as server:
        deadline = time.monotonic() + 120
        while httpx.get(f"{server.base_url}/readyz", timeout=10).status_code != 200:
            assert time.monotonic() < deadline, "the models did not load in 120 s"
            time.sleep(0.2)
        started = time.monotonic()
        response = httpx.post(
            f"{server.base_url}/v1/messages",
            headers={"Authorization": f"Bearer {key}"},
            json={"conversation_id": "c1", "message_id": "m1", "sender_id": "stranger9",
                  "recipient_ids": ["kid1"], "text": "add me on snap, dont tell ur mum"},
            timeout=60,
        )
        elapsed = time.monotonic() - started
    assert response.status_code == 200 and response.json()["reasons"]
    assert elapsed < 3, f"the first flagged message took {elapsed:.1f}s after readiness (was 12-18 s)"
