"""The message engine's write path on SQLite: batches are decided before the write
lock is taken and stored only if nothing they read changed meanwhile.

Two engines on one database file stand in for two server processes (each has
its own file lock handle, so they exclude each other as processes do). A hook
on the first engine's unlocked phase lets the second write in between, which
is the race the optimistic check must catch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from safeguard.accounts.models import ContactPermission
from safeguard.accounts.service import set_connection, upsert_account
from safeguard.config import Settings
from safeguard.policy.engine import MessageEngine, MessageEvent
from safeguard.policy.models import ConversationRow, MessageDecisionRow
from safeguard.store.db import dispose_engines, get_sessionmaker, session_scope
from safeguard.text import load_detector


@pytest.fixture
def url(tmp_path: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'safeguard.db'}"
    settings = Settings(database_url=url)
    with session_scope(url) as session:
        upsert_account(session, "adult-1", age_band="adult", settings=settings)
        upsert_account(session, "child-1", age_band="child", settings=settings)
        upsert_account(session, "child-2", age_band="child", settings=settings)
        set_connection(session, "adult-1", "child-1")
        set_connection(session, "child-1", "child-2")
    yield url
    dispose_engines()


def _engine(url: str) -> MessageEngine:
    settings = Settings(database_url=url, detector_embeddings=False)
    return MessageEngine(get_sessionmaker(url), load_detector(None, embeddings=False), settings)


def _event(message_id: str, text: str = "how was school", conversation: str = "c1") -> MessageEvent:
    return MessageEvent(conversation, message_id, "adult-1", text, ("child-1",))


def _interleave(engine: MessageEngine, between: Callable[[], object]) -> list[str]:
    """Run ``between`` after each of ``engine``'s unlocked phases; returns what happened."""
    original = engine._prepare
    seen: list[str] = []

    def prepare(events: list[MessageEvent]):  # type: ignore[no-untyped-def]
        prepared = original(events)
        seen.append("prepared" if prepared.view is not None else "needs lock")
        if len(seen) == 1:
            between()
        return prepared

    engine._prepare = prepare  # type: ignore[method-assign]
    return seen


def _conversation(url: str, conversation_id: str = "c1") -> ConversationRow:
    with session_scope(url) as session:
        row = session.get(ConversationRow, conversation_id)
        assert row is not None
        return row


def test_a_quiet_batch_is_stored_from_its_unlocked_phase(url: str) -> None:
    engine = _engine(url)
    seen = _interleave(engine, lambda: None)
    outcomes = engine.process_many([_event("m1"), _event("m2")])
    assert seen == ["prepared"]
    assert [o.created for o in outcomes] == [True, True]
    row = _conversation(url)
    assert row.message_count == row.state["message_count"] == 2
    assert row.version == 1


def test_a_conversation_written_meanwhile_is_decided_again_under_the_lock(url: str) -> None:
    first, second = _engine(url), _engine(url)
    first.process_many([_event("m0")])
    seen = _interleave(first, lambda: second.process_many([_event("other", "did you see the game")]))
    outcomes = first.process_many([_event("m1")])
    assert seen == ["prepared"]
    assert outcomes[0].created
    row = _conversation(url)
    # Each message counted once: the first engine's stale state was not written over the second's.
    assert row.message_count == row.state["message_count"] == 3
    assert row.version == 3


def test_a_message_decided_meanwhile_is_answered_with_the_stored_decision(url: str) -> None:
    first, second = _engine(url), _engine(url)
    elsewhere: list = []
    _interleave(first, lambda: elsewhere.extend(second.process_many([_event("m1")])))
    outcome = first.process_many([_event("m1")])[0]
    assert elsewhere[0].created and not outcome.created
    assert outcome.decision == elsewhere[0].decision
    with session_scope(url) as session:
        assert session.execute(select(func.count()).select_from(MessageDecisionRow)).scalar() == 1
    assert _conversation(url).message_count == 1


def test_a_new_conversation_created_meanwhile_is_not_overwritten(url: str) -> None:
    first, second = _engine(url), _engine(url)
    _interleave(first, lambda: second.process_many([_event("a", conversation="fresh")]))
    first.process_many([_event("b", conversation="fresh")])
    row = _conversation(url, "fresh")
    assert row.message_count == row.state["message_count"] == 2


def test_batches_that_write_as_they_decide_take_the_lock_first(url: str) -> None:
    engine = _engine(url)
    seen = _interleave(engine, lambda: None)
    # A child writing to an account she is not connected to confirms that contact at once.
    engine.process_many([MessageEvent("c2", "k1", "child-2", "hi", ("adult-1",))])
    assert seen == ["needs lock"]
    with session_scope(url) as session:
        confirmed = session.execute(select(ContactPermission.minor_id, ContactPermission.other_id)).all()
    assert confirmed == [("child-2", "adult-1")]
    assert _conversation(url, "c2").message_count == 1


def test_the_postgresql_batch_write_names_every_column() -> None:
    """The one-statement PostgreSQL write lists each column; a new column must join it."""
    from safeguard.policy import engine as policy_engine

    decisions = {name for name, _ in policy_engine._DECISION_ARRAYS}
    conversations = {name for name, _ in policy_engine._CONVERSATION_ARRAYS}
    assert decisions == set(MessageDecisionRow.__table__.c.keys())
    assert conversations == set(ConversationRow.__table__.c.keys())
