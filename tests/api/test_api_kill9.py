"""kill -9 of the server during a load run loses no accepted event and duplicates none.

A bounded load (count and time) of messages goes to `safeguard serve` on a
loopback port; the server is SIGKILLed mid-run and restarted; everything whose
response was not received is sent again. Then every message_id has exactly one
stored decision, every received response equals the stored one, and each
conversation's state counted each message exactly once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from api_support import free_port, wait_for_port
from sqlalchemy import func, select

from safeguard.accounts.keys import create_key
from safeguard.accounts.service import set_connection, upsert_account
from safeguard.config import Settings
from safeguard.policy.models import ConversationRow, MessageDecisionRow
from safeguard.store.db import session_scope

SAFEGUARD = str(Path(sys.executable).parent / "safeguard")
TOTAL = 600
CONVERSATIONS = 12
WORKERS = 6
KILL_AFTER = 150
TEXTS = ["hi", "how was school", "add me on snap", "lol", "don't tell anyone", "gg"]


def _start(db_url: str, port: int) -> subprocess.Popen[bytes]:
    # The fast lexicon path keeps the run short; durability does not depend on it.
    # One sender sends hundreds of messages here: no per-sender limit in a load run.
    env = {
        **os.environ,
        "SAFEGUARD_DATABASE_URL": db_url,
        "SAFEGUARD_DETECTOR_EMBEDDINGS": "false",
        "SAFEGUARD_API__SENDER_LIMITS": "",
    }
    server = subprocess.Popen(
        [SAFEGUARD, "serve", "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port)
    return server


def _event(i: int) -> dict:
    conversation = i % CONVERSATIONS
    return {
        "conversation_id": f"conv-{conversation}",
        "message_id": f"msg-{i}",
        "sender_id": "adult" if i % 2 else f"kid-{conversation}",
        "text": TEXTS[i % len(TEXTS)],
        "recipient_ids": [f"kid-{conversation}"] if i % 2 else ["adult"],
    }


@pytest.mark.slow
def test_kill_9_loses_nothing_and_duplicates_nothing(db_url: str) -> None:
    settings = Settings(database_url=db_url)
    with session_scope(db_url) as session:
        key = create_key(session, ["ingest"])[1]
        upsert_account(session, "adult", age_band="adult", settings=settings)
        for c in range(CONVERSATIONS):
            upsert_account(session, f"kid-{c}", age_band="child", settings=settings)
            if c % 3 == 0:
                set_connection(session, "adult", f"kid-{c}")
    headers = {"Authorization": f"Bearer {key}"}
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1/messages"
    received: dict[str, dict] = {}
    lock = threading.Lock()
    killed = threading.Event()
    server = _start(db_url, port)
    deadline = time.monotonic() + 60

    def load(worker: int) -> None:
        with httpx.Client(timeout=30) as client:
            for i in range(worker, TOTAL, WORKERS):
                if time.monotonic() > deadline:
                    return
                try:
                    response = client.post(url, json=_event(i), headers=headers)
                except httpx.HTTPError:
                    if killed.is_set():
                        continue
                    raise
                assert response.status_code == 200, response.text
                with lock:
                    received[f"msg-{i}"] = response.json()
                    if len(received) == KILL_AFTER and not killed.is_set():
                        os.kill(server.pid, signal.SIGKILL)
                        killed.set()

    try:
        threads = [threading.Thread(target=load, args=(w,)) for w in range(WORKERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert killed.is_set()
        server.wait(timeout=10)
        first_run = dict(received)
        assert KILL_AFTER <= len(first_run) < TOTAL

        server = _start(db_url, port)
        with httpx.Client(timeout=30) as client:
            for i in range(TOTAL):
                if f"msg-{i}" not in first_run:
                    response = client.post(url, json=_event(i), headers=headers)
                    assert response.status_code == 200, response.text
                    received[f"msg-{i}"] = response.json()
            # A repeat of an answered message returns exactly what was answered.
            again = client.post(url, json=_event(0), headers=headers)
            assert again.json() == received["msg-0"]
    finally:
        if server.poll() is None:
            server.terminate()
            server.wait(timeout=20)

    with session_scope(db_url) as session:
        rows = session.execute(select(MessageDecisionRow)).scalars().all()
        assert sorted(r.message_id for r in rows) == sorted(f"msg-{i}" for i in range(TOTAL))
        stored = {r.message_id: r.decision for r in rows}
        mismatched = [m for m, body in received.items() if stored[m] != body]
        assert mismatched == []
        counted = session.execute(select(func.sum(ConversationRow.message_count))).scalar()
        assert counted == TOTAL
        for conversation in session.execute(select(ConversationRow)).scalars():
            assert conversation.message_count == TOTAL // CONVERSATIONS
