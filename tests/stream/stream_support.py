"""Helpers for the stream tests: events, accounts, running in-process workers."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import redis
from sqlalchemy import select

from safeguard.accounts.service import upsert_account
from safeguard.config import Settings
from safeguard.policy.engine import MessageEvent
from safeguard.policy.models import ConversationRow, MessageDecisionRow
from safeguard.store.db import session_scope
from safeguard.stream import StreamLayout, StreamWorker, WorkerConfig
from safeguard.stream.decide import Decider

TEXTS = ["hi", "how old are you", "add me on snap", "lol", "dont tell your mum", "gg", "send me a pic"]


def message(i: int, conversations: int = 6) -> MessageEvent:
    """Message ``i``: conversations alternate an adult and their child."""
    c = i % conversations
    adult = i // conversations % 2 == 0
    return MessageEvent(
        conversation_id=f"conv-{c}",
        message_id=f"msg-{i}",
        sender_id="adult" if adult else f"kid-{c}",
        text=TEXTS[i % len(TEXTS)],
        recipient_ids=(f"kid-{c}",) if adult else ("adult",),
        sent_at=f"2025-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}Z",
    )


def seed_accounts(db_url: str, conversations: int = 6) -> None:
    settings = Settings(database_url=db_url)
    with session_scope(db_url) as session:
        upsert_account(session, "adult", age_band="adult", settings=settings)
        for c in range(conversations):
            upsert_account(session, f"kid-{c}", age_band="child", settings=settings)


def fast_config(**overrides: object) -> WorkerConfig:
    values = {"batch": 16, "block_ms": 100, "lease_ms": 3000, "claim_idle_ms": 1000}
    values.update(overrides)
    return WorkerConfig(**values)  # type: ignore[arg-type]


class Running:
    """Workers in threads of this process, each with its own engine."""

    def __init__(self, url: str, db_url: str, layout: StreamLayout) -> None:
        self.url, self.db_url, self.layout = url, db_url, layout
        self.threads: list[tuple[threading.Thread, threading.Event, StreamWorker]] = []

    def start(self, config: WorkerConfig | None = None, decider: Decider | None = None) -> StreamWorker:
        settings = Settings(database_url=self.db_url, detector_embeddings=False)
        decider = decider or Decider.from_settings(settings)
        client = redis.Redis.from_url(self.url, decode_responses=True)
        worker = StreamWorker(client, decider, self.layout, config or fast_config())
        stop = threading.Event()
        thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
        thread.start()
        self.threads.append((thread, stop, worker))
        return worker

    def stop(self) -> None:
        for thread, stop, worker in self.threads:
            stop.set()
            thread.join(timeout=30)
            worker.decider.close()


def wait_until(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    """Poll ``condition`` (a bound on waiting, not a timed assertion)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def decisions(db_url: str) -> dict[str, MessageDecisionRow]:
    with session_scope(db_url) as session:
        return {row.message_id: row for row in session.execute(select(MessageDecisionRow)).scalars()}


def conversation_rows(db_url: str) -> dict[str, ConversationRow]:
    with session_scope(db_url) as session:
        return {row.id: row for row in session.execute(select(ConversationRow)).scalars()}
