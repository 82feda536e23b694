"""The message engine's write path: batches are decided without locks (SQLite's
write lock, PostgreSQL's row locks) and stored only if nothing they read
changed meanwhile; otherwise they are decided again under the locks.

Two engines on one database stand in for two server processes (on SQLite each
has its own file lock handle, so they exclude each other as processes do). The
first engine is given a recording batch store (the engine's seam to the database):
it tells how each batch went, and lets the second engine write right after the
first one's unlocked read, which is the race the check must catch: under SQLite's
write lock before the write, inside PostgreSQL's one write statement.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import asynccontextmanager
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select, text

from safeguard.accounts.models import AccountSignal, ContactEvent, ContactPermission
from safeguard.accounts.service import set_connection, upsert_account
from safeguard.config import Settings
from safeguard.policy.engine import MessageEngine, MessageEvent, Optimism, Outcome
from safeguard.policy.models import ConversationRow, MessageDecisionRow
from safeguard.policy.runners import LOOP_SPLIT_MIN, batch_share
from safeguard.store import batch_postgres
from safeguard.store.batch import CONTACTS, CONVERSATIONS, DECISIONS, SIGNALS, BatchStore, batch_store
from safeguard.store.db import ConnectionLost, dispose_engines, get_engine, get_sessionmaker, session_scope
from safeguard.text import load_detector


@pytest.fixture
def url(db_url: str) -> Iterator[str]:
    settings = Settings(database_url=db_url)
    with session_scope(db_url) as session:
        upsert_account(session, "adult-1", age_band="adult", settings=settings)
        upsert_account(session, "child-1", age_band="child", settings=settings)
        upsert_account(session, "child-2", age_band="child", settings=settings)
        set_connection(session, "adult-1", "child-1")
        set_connection(session, "child-1", "child-2")
    yield db_url
    dispose_engines()


class RecordingStore:
    """A batch store that records how each batch went, in the engine's words:
    ``prepared`` (decided without locks) then ``stored`` or ``changed`` (the check
    failed), or ``needs lock`` (the batch wrote as it decided); on the event loop
    ``stored``, ``under the locks`` or ``connection lost``. ``between`` runs once,
    right after the first unlocked read."""

    def __init__(self, inner: BatchStore, between: Callable[[], object] | None = None) -> None:
        self.inner = inner
        self.between = between
        self.seen: list[str] = []
        self.sizes: list[int] = []  # events per batch read on the driver's connection
        self._unlocked_read = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def _after_unlocked_read(self) -> None:
        if self.between is not None:
            between, self.between = self.between, None
            between()

    def read(self, connection, request, *, lock):  # type: ignore[no-untyped-def]
        if lock and self._unlocked_read:
            self.seen.append("needs lock")
        self._unlocked_read = not lock
        snapshot = self.inner.read(connection, request, lock=lock)
        if not lock:
            self._after_unlocked_read()
        return snapshot

    def write(self, connection, writes):  # type: ignore[no-untyped-def]
        self._unlocked_read = False
        return self.inner.write(connection, writes)

    def write_if_unchanged(self, connection, writes, versions):  # type: ignore[no-untyped-def]
        self._unlocked_read = False
        stored = self.inner.write_if_unchanged(connection, writes, versions)
        self.seen.extend(["prepared", "stored" if stored else "changed"])
        return stored

    @asynccontextmanager
    async def on_driver(self, connection):  # type: ignore[no-untyped-def]
        outcome = {"written": False}
        try:
            async with self.inner.on_driver(connection) as driver:
                yield _RecordingDriver(self, driver, outcome)
        except ConnectionLost:
            self.seen.append("connection lost")
            raise
        except Exception:
            self.seen.append("under the locks")
            raise
        self.seen.append("stored" if outcome["written"] else "under the locks")


class _RecordingDriver:
    def __init__(self, store: RecordingStore, driver: Any, outcome: dict) -> None:
        self.store, self.driver, self.outcome = store, driver, outcome

    async def read(self, request):  # type: ignore[no-untyped-def]
        self.store.sizes.append(len(request.keys))
        snapshot = await self.driver.read(request)
        self.store._after_unlocked_read()
        return snapshot

    async def write_if_unchanged(self, writes):  # type: ignore[no-untyped-def]
        stored = await self.driver.write_if_unchanged(writes)
        self.outcome["written"] = stored
        return stored


class _SteadyState:
    """A conversation state whose every message fires ``platform_move`` at a low, steady risk
    (whatever the real detector would make of repeats, nothing here escalates)."""

    risk = 0.05
    stage = None

    def __init__(self, count: int = 0) -> None:
        self.count = count
        self.signals: list = []
        self.author_scores: dict = {}

    def add_message(self, message, recipient_age_bands=()):  # type: ignore[no-untyped-def]
        self.count += 1
        signal = SimpleNamespace(category="platform_move", message_index=self.count - 1, excerpt="", weight=0)
        return SimpleNamespace(risk=self.risk, signals=[signal])

    def to_dict(self) -> dict:
        return {"message_count": self.count}


class _SteadyDetector:
    def new_conversation(self, conversation_id: str) -> _SteadyState:
        return _SteadyState()

    def restore_conversation(self, data: dict) -> _SteadyState:
        return _SteadyState(data["message_count"])


def _engine(url: str, store: BatchStore | None = None, detector: Any = None) -> MessageEngine:
    settings = Settings(database_url=url, detector_embeddings=False)
    detector = detector or load_detector(None, embeddings=False)
    return MessageEngine(get_sessionmaker(url), detector, settings, store=store)


def _event(message_id: str, text: str = "how was school", conversation: str = "c1") -> MessageEvent:
    return MessageEvent(conversation, message_id, "adult-1", text, ("child-1",))


def _recorded(
    url: str, between: Callable[[], object] | None = None, detector: Any = None
) -> tuple[MessageEngine, list[str]]:
    """An engine whose batch store records how each batch went (``RecordingStore``)."""
    store = RecordingStore(batch_store(get_engine(url).dialect.name), between)
    return _engine(url, store, detector), store.seen


def _conversation(url: str, conversation_id: str = "c1") -> ConversationRow:
    with session_scope(url) as session:
        row = session.get(ConversationRow, conversation_id)
        assert row is not None
        return row


def test_a_quiet_batch_is_stored_from_its_unlocked_phase(url: str) -> None:
    engine, seen = _recorded(url)
    outcomes = engine.process_many([_event("m1"), _event("m2")])
    assert seen == ["prepared", "stored"]
    assert [o.created for o in outcomes] == [True, True]
    row = _conversation(url)
    assert row.message_count == row.state["message_count"] == 2
    assert row.version == 1


def test_a_conversation_written_meanwhile_is_decided_again_under_the_lock(url: str) -> None:
    second = _engine(url)
    second.process_many([_event("m0")])
    first, seen = _recorded(url, lambda: second.process_many([_event("other", "did you see the game")]))
    outcomes = first.process_many([_event("m1")])
    assert seen == ["prepared", "changed"]
    assert outcomes[0].created
    row = _conversation(url)
    # Each message counted once: the first engine's stale state was not written over the second's.
    assert row.message_count == row.state["message_count"] == 3
    assert row.version == 3


def test_a_message_decided_meanwhile_is_answered_with_the_stored_decision(url: str) -> None:
    second = _engine(url)
    elsewhere: list = []
    first, seen = _recorded(url, lambda: elsewhere.extend(second.process_many([_event("m1")])))
    outcome = first.process_many([_event("m1")])[0]
    assert seen == ["prepared", "changed"]
    assert elsewhere[0].created and not outcome.created
    assert outcome.decision == elsewhere[0].decision
    with session_scope(url) as session:
        assert session.execute(select(func.count()).select_from(MessageDecisionRow)).scalar() == 1
    assert _conversation(url).message_count == 1


def test_a_new_conversation_created_meanwhile_is_not_overwritten(url: str) -> None:
    second = _engine(url)
    first, seen = _recorded(url, lambda: second.process_many([_event("a", conversation="fresh")]))
    first.process_many([_event("b", conversation="fresh")])
    assert seen == ["prepared", "changed"]
    row = _conversation(url, "fresh")
    assert row.message_count == row.state["message_count"] == 2


def test_batches_that_write_as_they_decide_take_the_lock_first(url: str) -> None:
    engine, seen = _recorded(url)
    # A child writing to an account she is not connected to confirms that contact at once.
    engine.process_many([MessageEvent("c2", "k1", "child-2", "hi", ("adult-1",))])
    assert seen == ["needs lock"]
    with session_scope(url) as session:
        confirmed = session.execute(select(ContactPermission.minor_id, ContactPermission.other_id)).all()
    assert confirmed == [("child-2", "adult-1")]
    assert _conversation(url, "c2").message_count == 1


def test_repeated_account_inputs_are_written_by_the_unlocked_batch(url: str) -> None:
    """A signal category already counted in a conversation, and a minor already contacted,
    change no account risk: such batches are stored from their unlocked phase, inputs too."""
    engine, seen = _recorded(url, detector=_SteadyDetector())
    for batch in range(3):
        engine.process_many([MessageEvent("c3", f"s{batch}", "adult-1", "add me on snap", ("child-2",))])
    assert seen == ["needs lock", "prepared", "stored", "prepared", "stored"]
    with session_scope(url) as session:
        signals = session.execute(select(AccountSignal.category, AccountSignal.count)).all()
        contacts = session.execute(select(func.count()).select_from(ContactEvent)).scalar()
    assert signals == [("platform_move", 3)]
    assert contacts == 3
    row = _conversation(url, "c3")
    assert row.message_count == row.state["message_count"] == 3


def test_a_burst_of_batches_that_need_the_locks_goes_straight_to_them(url: str) -> None:
    """Deciding without locks first is wasted on batches that must be decided again under
    them: after most recent ones did, batches skip it, trying again every PROBE-th batch."""
    engine, seen = _recorded(url)
    # Each batch is the sender's first platform-move signal in a new conversation.
    for n in range(4 + Optimism.PROBE):
        engine.process_many([MessageEvent(f"burst-{n}", f"b{n}", "adult-1", "add me on snap", ("child-1",))])
    assert seen == ["needs lock"] * 5
    quiet = [_event(f"q{n}", conversation="quiet") for n in range(2 * Optimism.PROBE)]
    for event in quiet:  # batches that store as decided bring the unlocked path back
        engine.process_many([event])
    assert seen[-4:] == ["prepared", "stored", "prepared", "stored"]
    assert engine.optimism.failure_rate < 0.5
    with session_scope(url) as session:
        decided = session.execute(select(func.count()).select_from(MessageDecisionRow)).scalar()
    assert decided == 4 + 3 * Optimism.PROBE


def test_the_postgresql_batch_write_names_every_column() -> None:
    """The one-statement PostgreSQL write lists each column; a new column must join it
    (and the batch store's table clauses name the same columns)."""
    decisions = {name for name, _ in batch_postgres.DECISION_ARRAYS}
    conversations = {name for name, _ in batch_postgres.CONVERSATION_ARRAYS}
    signals = {name for name, _ in batch_postgres.SIGNAL_ARRAYS}
    contacts = {name for name, _ in batch_postgres.CONTACT_ARRAYS}
    assert decisions == set(MessageDecisionRow.__table__.c.keys()) == set(DECISIONS.c.keys())
    assert conversations == set(ConversationRow.__table__.c.keys()) == set(CONVERSATIONS.c.keys())
    assert signals == set(AccountSignal.__table__.c.keys()) == set(SIGNALS.c.keys())
    # contact_events.id: generated
    assert contacts == set(ContactEvent.__table__.c.keys()) - {"id"} == set(CONTACTS.c.keys())


# The service's PostgreSQL path: batches run on the event loop, and a batch decided
# without locks is read and written with two statements on the driver's connection.
on_postgresql = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)


def _on_loop(
    url: str, batches: list[list[MessageEvent]], between: Callable[[], object] | None = None
) -> tuple[list[list[Outcome]], list[str], RecordingStore]:
    """Decide each batch on an event loop as the service does, with a recording store;
    returns the outcomes, how each attempt on the driver's connection went, and the store.
    ``between`` runs once, after the first batch was read and before it is written."""
    store = RecordingStore(batch_store("postgresql"), between)
    engine = _engine(url, store)

    async def run() -> list[list[Outcome]]:
        await engine.start_on_loop()
        try:
            return [list(await asyncio.gather(*(engine.decide(e) for e in batch))) for batch in batches]
        finally:
            await engine.stop_on_loop()

    return asyncio.run(run()), store.seen, store


@on_postgresql
def test_on_the_loop_a_quiet_batch_is_read_and_written_by_two_statements(url: str) -> None:
    batch = [_event("m1"), _event("m2"), _event("m3", "see you at practice")]
    outcomes, seen, _ = _on_loop(url, [batch, batch])
    assert seen == ["stored", "stored"]
    assert [o.created for o in outcomes[0]] == [True, True, True]
    assert [o.created for o in outcomes[1]] == [False, False, False]  # replayed: the stored decisions
    assert [o.decision for o in outcomes[1]] == [o.decision for o in outcomes[0]]
    row = _conversation(url)
    assert row.message_count == row.state["message_count"] == 3
    assert row.version == 1
    with session_scope(url) as session:
        assert session.execute(select(func.count()).select_from(MessageDecisionRow)).scalar() == 3


@on_postgresql
def test_on_the_loop_a_conversation_written_meanwhile_is_decided_again_under_the_locks(url: str) -> None:
    second = _engine(url)
    second.process_many([_event("m0")])
    outcomes, seen, _ = _on_loop(
        url, [[_event("m1")]], lambda: second.process_many([_event("other", "did you see the game")])
    )
    assert seen == ["under the locks"]
    assert outcomes[0][0].created
    row = _conversation(url)
    assert row.message_count == row.state["message_count"] == 3
    assert row.version == 3


@on_postgresql
def test_on_the_loop_a_batch_that_writes_as_it_decides_takes_the_locks(url: str) -> None:
    outcomes, seen, _ = _on_loop(url, [[MessageEvent("c2", "k1", "child-2", "hi", ("adult-1",))]])
    assert seen == ["under the locks"]
    assert outcomes[0][0].created
    with session_scope(url) as session:
        confirmed = session.execute(select(ContactPermission.minor_id, ContactPermission.other_id)).all()
    assert confirmed == [("child-2", "adult-1")]
    assert _conversation(url, "c2").message_count == 1


@on_postgresql
def test_on_the_loop_a_connection_lost_under_the_driver_statements_is_retried(url: str) -> None:
    def end_the_loop_connections() -> None:
        admin = create_engine(url)
        try:
            with admin.connect() as connection:
                connection.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = "
                        "current_database() AND pid <> pg_backend_pid() AND application_name = ''"
                    )
                )
        finally:
            admin.dispose()

    outcomes, seen, _ = _on_loop(url, [[_event("m1")], [_event("m2")]], end_the_loop_connections)
    assert seen == ["connection lost", "stored", "stored"]
    assert all(o.created for batch in outcomes for o in batch)
    row = _conversation(url)
    assert row.message_count == row.state["message_count"] == 2


@on_postgresql
def test_on_the_loop_a_closed_burst_is_split_so_batches_overlap(url: str) -> None:
    """32 requests queued at once (every client waiting): the three runners each take a
    share, so one batch is decided while the database reads or writes another."""
    burst = [_event(f"b{i}", conversation=f"burst-{i}") for i in range(32)]
    outcomes, _, store = _on_loop(url, [burst])
    assert sorted(store.sizes) == [10, 11, 11]  # in the order their connections came
    assert all(o.created for o in outcomes[0])
    with session_scope(url) as session:
        assert session.execute(select(func.count()).select_from(MessageDecisionRow)).scalar() == 32


def test_loop_batch_size_shares_the_queue_between_free_runners() -> None:
    for tasks, busy, queued, expected in [
        (3, 0, 32, 11),  # three free runners: a third each
        (3, 0, 16, 8),  # not below the minimum
        (3, 1, 40, 20),
        (1, 0, 40, 40),  # the only free runner takes it all
        (1, 0, 100, 64),  # up to max_batch
        (3, 2, 5, 8),  # fewer than the minimum queued: all of them
    ]:
        assert batch_share(queued, tasks, busy, max_batch=64) == expected, (tasks, busy, queued)
    assert LOOP_SPLIT_MIN == 8
