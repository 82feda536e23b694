"""The message and connection-request engine: store + detector + policy rules.

``MessageEngine.process`` is the one path a message takes from any door (API,
CLI, stream worker) to a stored decision:

1. idempotency: a ``message_id`` already decided returns the stored decision;
2. the conversation's detector state is loaded and the message is scored
   with the same ``ConversationState`` as ``safeguard scan``. A batch is first
   decided without locks and stored only if the conversations' versions and
   the idempotency keys it read are unchanged (optimistic concurrency): SQLite
   (one writer at a time, a file lock shared by every process) checks and
   writes under its lock; PostgreSQL writes the whole batch with one
   statement that checks each version as it writes and fails as a whole
   otherwise. A batch that fails the check, and one that writes as it decides
   (escalations, confirmations, account risk), is decided again under the
   locks (on PostgreSQL ``SELECT ... FOR UPDATE`` of its conversations);
3. account-level risk inputs are recorded (unconnected minors contacted,
   signal categories) and the sender's risk refreshed when they changed;
4. the pure policy rules decide; an escalation is stored with its evidence and
   webhook deliveries queued;
5. decision, state and evidence are committed before the caller responds;
   concurrent messages share one transaction (group commit) to amortise the
   commit and the reads.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import queue
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

import orjson
import structlog
from sqlalchemy import String, and_, cast, func, literal_column, select, text, union_all
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.orm import Session, sessionmaker

from safeguard.accounts import service as accounts
from safeguard.accounts.risk import AccountRisk
from safeguard.config import Settings
from safeguard.ingest.records import Message
from safeguard.policy.idempotency import conflicting_field, request_digest
from safeguard.policy.models import ConversationRow, EscalationRow, MessageDecisionRow
from safeguard.policy.rules import decide_connection_request, decide_message, is_minor
from safeguard.policy.types import (
    Action,
    ConnectionRequestDecision,
    MessageDecision,
    Party,
    RecipientContext,
)
from safeguard.store.db import (
    ConnectionLost,
    WriterLock,
    create_loop_engine,
    is_disconnect,
    json_text,
    pg_array,
)

INLINE_LOCK_RETRY_S = 0.0005  # while another process holds the SQLite write lock
log = structlog.get_logger("safeguard.policy")

LOOP_SPLIT_MIN = 8  # events a loop batch takes at least, when more are queued (see _loop_batch_size)
# Text a batch decided on the event loop may hold: scoring is linear in the text
# (about 1-2 us a character at worst), so this bounds how long one batch keeps the
# loop from answering other requests, whatever senders put in their messages.
LOOP_BATCH_TEXT_CHARS = 64_000
POSTGRES_WRITERS = 3  # concurrent decision transactions per process on PostgreSQL


class Detector(Protocol):
    """What the engine needs of ``safeguard.text`` (see ``load_detector``)."""

    def new_conversation(self, conversation_id: str) -> Any: ...

    def restore_conversation(self, data: dict) -> Any: ...


@dataclass(frozen=True, slots=True)
class MessageEvent:
    """A message as posted to the service: the JSONL fields plus its recipients."""

    conversation_id: str
    message_id: str
    sender_id: str
    text: str
    recipient_ids: tuple[str, ...]
    sent_at: str | None = None
    sender_age_band: str | None = None

    def to_message(self) -> Message:
        """The ``ingest`` record the detector reads."""
        return Message(
            conversation_id=self.conversation_id,
            message_id=self.message_id,
            sender_id=self.sender_id,
            text=self.text,
            sent_at=self.sent_at,
            sender_age_band=self.sender_age_band,
        )


@dataclass(slots=True)
class Outcome:
    """A stored decision (JSON-ready) and whether this call created it.

    ``conflict`` names the field in which a request reusing a stored message's key
    differs from it (see ``policy.idempotency``): nothing was decided or stored, and
    ``decision`` is the stored one, for the door to refuse (HTTP 409) rather than return.
    """

    decision: dict
    created: bool
    escalation_ids: list[str] = field(default_factory=list)
    conflict: str | None = None


class _Stored(NamedTuple):
    """A decision already stored under a message's key, and what it was bound to."""

    decision: dict
    sender_id: str
    request_digest: str | None


# The separator of sender id and request digest in the batch read (ids hold no control characters).
_KEY_SEPARATOR = "\x1f"


def _stored_outcome(stored: _Stored, event: MessageEvent) -> Outcome:
    """The replay of ``stored`` for ``event``, or a conflict when ``event`` is another request."""
    conflict = conflicting_field(
        stored.sender_id,
        stored.request_digest,
        conversation_id=event.conversation_id,
        message_id=event.message_id,
        sender_id=event.sender_id,
        recipient_ids=event.recipient_ids,
        text=event.text,
    )
    return Outcome(stored.decision, created=False, conflict=conflict)


class _Pending:
    """One submitted event waiting for its batch to commit."""

    __slots__ = ("event", "future")

    def __init__(self, event: MessageEvent) -> None:
        self.event = event
        self.future: Future[Outcome] = Future()

    def resolve(self, outcome: Outcome) -> None:
        if not self.future.done():
            self.future.set_result(outcome)

    def fail(self, error: BaseException) -> None:
        if not self.future.done():
            self.future.set_exception(error)


def message_decision_dict(decision: MessageDecision, case_id: str | None) -> dict:
    """The JSON form of a message decision (what the API returns and stores)."""
    return {
        "action": decision.action.value,
        "risk": round(float(decision.risk), 6),
        "conversation_risk": round(float(decision.conversation_risk), 6),
        "account_risk": round(float(decision.account_risk), 6),
        "reasons": [r.to_dict() for r in decision.reasons],
        "recipient_actions": {k: v.value for k, v in decision.recipient_actions.items()},
        "warn_recipient": decision.warn_recipient,
        "case_id": case_id,
    }


_DECISIONS = MessageDecisionRow.__table__
_CONVERSATIONS = ConversationRow.__table__


def _states(postgres: bool, lock: bool) -> Any:
    """The conversations' states; with ``lock``, their rows locked in id order (``FOR UPDATE``).

    One lock order in every process: batches cannot deadlock on existing rows.
    """
    stmt = select(
        _CONVERSATIONS.c.id,
        cast(_CONVERSATIONS.c.state, String).label("state"),
        cast(_CONVERSATIONS.c.message_count, String).label("message_count"),
        cast(_CONVERSATIONS.c.version, String).label("version"),
    ).where(accounts.in_list((_CONVERSATIONS.c.id,), "conversations", postgres))
    return stmt.order_by(_CONVERSATIONS.c.id).with_for_update() if lock else stmt


def _stored_keys(postgres: bool) -> Any:
    """Decisions of the batch's conversations with one of its message ids (a superset of
    its keys, matched up exactly as the rows are read)."""
    return and_(
        accounts.in_list((_DECISIONS.c.conversation_id,), "conversations", postgres),
        accounts.in_list((_DECISIONS.c.message_id,), "ids", postgres),
    )


def _sender_and_digest() -> Any:
    """``sender_id`` and ``request_digest`` in one column of the batch read."""
    return (
        _DECISIONS.c.sender_id
        + literal_column(f"'{_KEY_SEPARATOR}'")
        + func.coalesce(_DECISIONS.c.request_digest, literal_column("''"))
    )


def _read_stored(row: Sequence[Any]) -> tuple[tuple[str, str], _Stored]:
    """A ``'d'`` row of the batch read as its key and stored decision."""
    sender_id, _, digest = row[4].partition(_KEY_SEPARATOR)
    return (row[3], row[1]), _Stored(orjson.loads(row[2]), sender_id, digest or None)


def _batch_read_statement(postgres: bool, lock: bool) -> Any:
    """Stored decisions, conversation states (locked on PostgreSQL) and the accounts' context,
    in one query: one round trip per batch."""
    stmt = _states(postgres, lock)
    states = stmt.cte("states") if lock else stmt.subquery()
    return union_all(
        select(
            literal_column("'d'"),
            _DECISIONS.c.message_id,
            cast(_DECISIONS.c.decision, String),
            _DECISIONS.c.conversation_id,
            _sender_and_digest(),
        ).where(_stored_keys(postgres)),
        select(literal_column("'v'"), states.c.id, states.c.state, states.c.message_count, states.c.version),
        *accounts.context_selects(postgres),
    )


_BATCH_READS = {
    (postgres, lock): _batch_read_statement(postgres, lock)
    for postgres in (False, True)
    for lock in (False, True)
}
# Conversations a batch creates: locked once inserted (after the batch's existing ones).
_LOCK_NEW_STATES = _states(True, True)
# The optimistic check: decisions stored and conversation versions written since a batch was read.
_CHANGED_SINCE_READ = union_all(
    select(literal_column("'d'"), _DECISIONS.c.message_id, _DECISIONS.c.conversation_id).where(
        _stored_keys(postgres=False)
    ),
    select(literal_column("'v'"), _CONVERSATIONS.c.id, _CONVERSATIONS.c.version).where(
        accounts.in_list((_CONVERSATIONS.c.id,), "conversations", postgres=False)
    ),
)


_CONVERSATION_UPDATES = ("state", "risk", "message_count", "updated_at", "version")
_DECISION_ARRAYS = (
    ("message_id", "VARCHAR"),
    ("conversation_id", "VARCHAR"),
    ("sender_id", "VARCHAR"),
    ("action", "VARCHAR"),
    ("risk", "FLOAT8"),
    ("conversation_risk", "FLOAT8"),
    ("decision", "JSON"),
    ("case_id", "VARCHAR"),
    ("created_at", "TIMESTAMPTZ"),
    ("request_digest", "VARCHAR"),
)
_CONVERSATION_ARRAYS = (
    ("id", "VARCHAR"),
    ("state", "JSON"),
    ("risk", "FLOAT8"),
    ("message_count", "INTEGER"),
    ("updated_at", "TIMESTAMPTZ"),
    ("version", "INTEGER"),
)


def _rows_select(prefix: str, columns: tuple[tuple[str, str], ...]) -> str:
    """``SELECT`` the rows held in one array parameter per column; a JSON column comes
    as one JSON array document instead, matched up by position."""
    names = [name for name, _ in columns]
    plain = [(name, kind) for name, kind in columns if kind != "JSON"]
    documents = [name for name, kind in columns if kind == "JSON"]
    arrays = ", ".join(f"CAST(:{prefix}{name} AS {kind}[])" for name, kind in plain)
    aliases = ", ".join(name for name, _ in plain)
    sql = f"SELECT {', '.join(names)} FROM unnest({arrays}) WITH ORDINALITY AS t({aliases}, n)"
    for name in documents:
        elements = f"json_array_elements(CAST(:{prefix}{name} AS JSON))"
        sql += f" JOIN {elements} WITH ORDINALITY AS {name}_({name}, n) USING (n)"
    return sql


def _insert_rows(table: str, prefix: str, columns: tuple[tuple[str, str], ...]) -> str:
    names = ", ".join(name for name, _ in columns)
    return f"INSERT INTO {table} ({names}) " + _rows_select(prefix, columns)


# PostgreSQL: a batch's decisions and conversation states in one statement, one
# array per column. Statements with one row per execution (executemany) run in
# psycopg's pipeline mode, which on the event loop polls the socket until the
# server answers; this is one round trip and one execution for the whole batch.
# JSON values travel as one JSON document per column: psycopg escapes each
# element of a text array in Python, which is slow for a conversation's state.
_STORE_DECISIONS = _insert_rows("message_decisions", "d_", _DECISION_ARRAYS)
_UPSERT_CONVERSATIONS = (
    _insert_rows("conversations", "c_", _CONVERSATION_ARRAYS)
    + " ON CONFLICT (id) DO UPDATE SET "
    + ", ".join(f"{name} = excluded.{name}" for name in _CONVERSATION_UPDATES)
)
_PG_STORE_BATCH = text(f"WITH stored AS ({_STORE_DECISIONS}) {_UPSERT_CONVERSATIONS}")


_CONTACT_ARRAYS = (("sender_id", "VARCHAR"), ("recipient_id", "VARCHAR"), ("at", "TIMESTAMPTZ"))
_SIGNAL_ARRAYS = (
    ("account_id", "VARCHAR"),
    ("category", "VARCHAR"),
    ("conversation_id", "VARCHAR"),
    ("count", "INTEGER"),
    ("last_at", "TIMESTAMPTZ"),
)


# PostgreSQL, a batch decided without row locks: everything it writes in one
# statement, which on its own is one transaction (autocommit), so a batch costs
# two round trips (read, write) instead of BEGIN, read, writes and COMMIT. Each
# conversation is written only at the version the batch read (a row another
# transaction locked is rechecked at its new version once that commits);
# ``safeguard_all_written`` (migration 0006) fails the whole statement when one
# was not, and so does a decision stored meanwhile (unique ``message_id``). The
# batch is then decided again under the row locks.
_PG_STORE_IF_UNCHANGED = text(
    f"WITH stored AS ({_STORE_DECISIONS}), contacts AS ("
    + _insert_rows("contact_events", "k_", _CONTACT_ARRAYS)
    + "), signals AS ("
    + _insert_rows("account_signals", "s_", _SIGNAL_ARRAYS)
    + " ON CONFLICT (account_id, category, conversation_id) DO UPDATE SET"
    " count = account_signals.count + excluded.count, last_at = excluded.last_at"
    + f"), written AS ({_UPSERT_CONVERSATIONS}"
    + " WHERE conversations.version = excluded.version - 1 RETURNING 1"
    + ") SELECT safeguard_all_written(CAST(:written AS INTEGER), (SELECT count(*) FROM written))"
)
# SQLSTATEs after which a batch decided without locks is decided again with them:
# a conversation changed (``safeguard_all_written``), a decision stored meanwhile,
# and a deadlock with a batch that locked the same rows in another order.
_CHANGED_MEANWHILE = {"SG409", "23505", "40P01"}


@functools.cache
def _driver_sql(statement: Any) -> str:
    """``statement`` as psycopg runs it (``%(name)s`` parameters), for the loop's fast path."""
    from sqlalchemy.dialects.postgresql.psycopg import dialect

    return str(statement.compile(dialect=dialect()))


def _pg_store_parameters(*tables: tuple[str, list[dict], tuple[tuple[str, str], ...]]) -> dict[str, str]:
    """Parameters of the PostgreSQL batch writes: one array (or JSON document) per column
    of each ``(prefix, rows, columns)``."""
    parameters: dict[str, str] = {}
    for prefix, rows, columns in tables:
        for name, kind in columns:
            values = [row[name] for row in rows]
            parameters[prefix + name] = json_text(values) if kind == "JSON" else pg_array(values)
    return parameters


class _NeedsLock(Exception):
    """A batch decided without the write lock reached a step that writes at once."""


_create_statements: dict[str, Any] = {}


def _create_conversations(session: Session) -> Any:
    """``INSERT ... ON CONFLICT DO NOTHING`` of conversation rows, built once per dialect."""
    dialect = session.get_bind().dialect.name
    stmt = _create_statements.get(dialect)
    if stmt is None:
        stmt = accounts._insert(session, _CONVERSATIONS).on_conflict_do_nothing(index_elements=["id"])
        _create_statements[dialect] = stmt
    return stmt


class _BatchRead(NamedTuple):
    """The parameters of a batch's read (``_BATCH_READS``) and the ids it asks for."""

    parameters: dict[str, Any]
    people: list[str]
    conversation_ids: list[str]
    events: list[MessageEvent]


def _batch_read(
    events: list[MessageEvent], settings: Settings, postgres: bool, conversation_ids: list[str] | None = None
) -> _BatchRead:
    """What ``events`` (and ``conversation_ids``) need from the store, as read parameters."""
    ids = [e.message_id for e in events]
    conversations = sorted({e.conversation_id for e in events}.union(conversation_ids or ()))
    directed = {(e.sender_id, r) for e in events for r in e.recipient_ids if r != e.sender_id}
    people = sorted({e.sender_id for e in events} | {r for e in events for r in e.recipient_ids})
    parameters = accounts.context_parameters(
        people, directed, {(e.sender_id, e.conversation_id) for e in events}, settings, postgres
    )
    parameters.update(accounts.list_values("ids", ids, postgres))
    parameters.update(accounts.list_values("conversations", conversations, postgres))
    return _BatchRead(parameters, people, conversations, events)


@dataclass(slots=True)
class _Conversation:
    """A conversation as read at the start of a batch, and its state once loaded."""

    stored_state: dict | None
    message_count: int
    version: int | None  # None: no row yet
    state: Any = None


class _BatchView:
    """What a batch of events needs from the store, read in a few queries up front,
    and the writes it makes, sent in a few statements at the end.

    Effects of earlier events in the batch (a minor's reply confirming contact,
    a conversation's new state, a sender's new account risk, first contacts and
    signals) are applied here as the batch is processed, so each event is
    decided as if it had been alone.
    """

    def __init__(
        self,
        session: Session | None,
        read: _BatchRead,
        rows: Iterable[Sequence[Any]],
        *,
        lock: bool,
        optimistic: bool = False,
    ) -> None:
        self.session = session
        self.optimistic = optimistic
        self.conversations: dict[str, _Conversation] = {}
        self.stored: dict[tuple[str, str], _Stored] = {}
        keys = {(e.conversation_id, e.message_id) for e in read.events}
        account_rows = []
        for row in rows:
            kind = row[0]
            if kind == "d":
                key, stored = _read_stored(row)
                if key in keys:
                    self.stored[key] = stored
            elif kind == "v":
                self._add_state(row[1], row[2], row[3], row[4])
            else:
                account_rows.append(row)
        missing = [c for c in read.conversation_ids if c not in self.conversations]
        if lock and missing:
            self._create_and_lock(missing)
        context = accounts.read_context(account_rows, read.people)
        self.people = context.people
        self.connected = context.connected
        self.confirmed = context.confirmed
        self.risk = context.risks
        self.contacted = context.contacted
        self.signals_seen = context.signals_seen
        self.new_contacts: list[tuple[str, str]] = []
        self.new_signals: dict[tuple[str, str, str], int] = {}
        self.decisions: list[dict] = []

    @classmethod
    def load(
        cls,
        session: Session,
        events: list[MessageEvent],
        settings: Settings,
        *,
        lock: bool,
        conversation_ids: list[str] | None = None,
        optimistic: bool = False,
    ) -> _BatchView:
        """Read what ``events`` need in one round trip (their conversations' rows locked
        on PostgreSQL with ``lock``)."""
        connection = session.connection()
        postgres = connection.dialect.name == "postgresql"
        read = _batch_read(events, settings, postgres, conversation_ids)
        rows = connection.execute(_BATCH_READS[(postgres, lock)], read.parameters).all()
        return cls(session, read, rows, lock=lock, optimistic=optimistic)

    def writing_session(self) -> Session:
        """The session for a write made while deciding; a batch decided without locks
        (``optimistic``) cannot make one and is decided again under them."""
        if self.optimistic or self.session is None:
            raise _NeedsLock
        return self.session

    def _add_state(
        self, conversation_id: str, state: str | None, count: str | None, version: str | None
    ) -> None:
        stored = orjson.loads(state) if state is not None else None
        self.conversations[conversation_id] = _Conversation(stored, int(count or 0), int(version or 0))

    def _create_and_lock(self, conversation_ids: list[str]) -> None:
        """PostgreSQL: create the batch's new conversations' rows, then lock them."""
        session = self.writing_session()
        connection = session.connection()
        now = accounts.utcnow()
        connection.execute(
            _create_conversations(session),
            [
                {"id": c, "state": None, "risk": 0.0, "message_count": 0, "updated_at": now}
                for c in conversation_ids
            ],
        )
        locked = connection.execute(
            _LOCK_NEW_STATES, accounts.list_values("conversations", conversation_ids, postgres=True)
        )
        for cid, state, count, version in locked:
            self._add_state(cid, state, count, version)

    def conversation(self, detector: Detector, conversation_id: str) -> _Conversation:
        """The conversation, its detector state restored (or started) on first use."""
        entry = self.conversations.get(conversation_id)
        if entry is None:
            entry = self.conversations[conversation_id] = _Conversation(None, 0, None)
        if entry.state is None:
            if entry.stored_state:
                entry.state = detector.restore_conversation(entry.stored_state)
            else:
                entry.state = detector.new_conversation(conversation_id)
        return entry

    def record_contacts(self, sender_id: str, minors: list[str]) -> bool:
        """Queue contact events; True when a minor is new to this sender in the window."""
        new = False
        for minor in minors:
            self.new_contacts.append((sender_id, minor))
            if (sender_id, minor) not in self.contacted:
                self.contacted.add((sender_id, minor))
                new = True
        return new

    def record_signals(self, sender_id: str, conversation_id: str, categories: list[str]) -> bool:
        """Queue signal counts; True when a category is new to this sender's conversation."""
        new = False
        for category in categories:
            key = (sender_id, conversation_id, category)
            self.new_signals[key] = self.new_signals.get(key, 0) + 1
            if key not in self.signals_seen:
                self.signals_seen.add(key)
                new = True
        return new

    def flush_inputs(self) -> None:
        """Write queued contacts and signals (before account risk is recounted, and at the end)."""
        session = self.writing_session()
        accounts.write_contacts(session, self.new_contacts)
        accounts.write_signals(session, self.new_signals)
        self.new_contacts, self.new_signals = [], {}

    def write(self) -> None:
        """Send the batch's decisions, conversation states and risk inputs."""
        self.flush_inputs()
        session = self.writing_session()
        connection = session.connection()
        rows = self._conversation_rows()
        if connection.dialect.name == "postgresql":
            if self.decisions or rows:
                parameters = _pg_store_parameters(
                    ("d_", self.decisions, _DECISION_ARRAYS), ("c_", rows, _CONVERSATION_ARRAYS)
                )
                connection.execute(_PG_STORE_BATCH, parameters)
            return
        if self.decisions:
            connection.execute(_DECISIONS.insert(), self.decisions)
        if rows:
            stmt = accounts.upsert_statement(
                session,
                _CONVERSATIONS,
                ["id"],
                lambda s: {c: s.excluded[c] for c in _CONVERSATION_UPDATES},
            )
            connection.execute(stmt, rows)

    def store_parameters(self) -> dict[str, str]:
        """PostgreSQL, a batch read without locks: the parameters of ``_PG_STORE_IF_UNCHANGED``,
        which writes it all in one statement that fails (SQLSTATE in ``_CHANGED_MEANWHILE``)
        if what it read has changed."""
        now = accounts.utcnow()
        rows = self._conversation_rows()
        contacts = [{"sender_id": a, "recipient_id": b, "at": now} for a, b in self.new_contacts]
        signals = [
            {"account_id": a, "conversation_id": c, "category": k, "count": n, "last_at": now}
            for (a, c, k), n in sorted(self.new_signals.items())
        ]
        parameters = _pg_store_parameters(
            ("d_", self.decisions, _DECISION_ARRAYS),
            ("k_", contacts, _CONTACT_ARRAYS),
            ("s_", signals, _SIGNAL_ARRAYS),
            ("c_", rows, _CONVERSATION_ARRAYS),
        )
        parameters["written"] = str(len(rows))
        return parameters

    def _conversation_rows(self) -> list[dict[str, Any]]:
        now = accounts.utcnow()
        return [
            {
                "id": cid,
                "state": entry.state.to_dict(),
                "risk": float(entry.state.risk),
                "message_count": entry.message_count,
                "updated_at": now,
                "version": (entry.version or 0) + 1,
            }
            for cid, entry in sorted(self.conversations.items())  # one lock order everywhere
            if entry.state is not None
        ]


# Opens a session; with ``True`` one whose statements each commit on their own.
Sessions = Callable[[bool], Session]


def _sessions_on(connection: Connection) -> Sessions:
    """Sessions on one connection (the loop engine's), switching it to and from autocommit."""
    default = connection.default_isolation_level

    def session(autocommit: bool = False) -> Session:
        connection.execution_options(isolation_level="AUTOCOMMIT" if autocommit else default)
        return Session(bind=connection, autoflush=False)

    return session


class _Optimism:
    """Whether deciding a batch without locks is worth it now.

    It is wasted work when the batch must be decided again under the locks (a
    first contact or signal, an escalation, a confirmation, a race). That is rare
    on a platform that has been running, common in bursts (a new deployment, a
    wave of new accounts). While most recent attempts failed, batches go straight
    to the locked path, and every ``PROBE``-th one tries again.
    """

    PROBE = 8
    DECAY = 0.8

    def __init__(self) -> None:
        self.failure_rate = 0.0
        self._skipped = 0

    def worth_trying(self) -> bool:
        """True to decide the next batch without locks first."""
        if self.failure_rate < 0.5:
            return True
        self._skipped += 1
        if self._skipped >= self.PROBE:
            self._skipped = 0
            return True
        return False

    def record(self, stored: bool) -> None:
        """Count an attempt: stored as decided, or decided again under the locks."""
        self.failure_rate = self.DECAY * self.failure_rate + (1 - self.DECAY) * (0.0 if stored else 1.0)


@dataclass(slots=True)
class _Prepared:
    """A batch decided without the write lock: its reads and pending writes, and outcomes.

    ``view`` is None when the batch must be decided under the lock instead.
    """

    view: _BatchView | None
    outcomes: list[Outcome]


def _within_text_budget(queued: list[tuple[MessageEvent, Any]], limit: int) -> int:
    """How many of the first ``limit`` queued events fit in ``LOOP_BATCH_TEXT_CHARS``
    (always at least one)."""
    total = 0
    for count, (event, _) in enumerate(queued[:limit]):
        total += len(event.text)
        if total > LOOP_BATCH_TEXT_CHARS and count:
            return count
    return min(limit, len(queued))


def _settle(taken: list[tuple[MessageEvent, asyncio.Future[Outcome]]], pending: list[_Pending]) -> None:
    """Pass each finished batch item's outcome (or error) on to the loop's future."""
    for (_, future), item in zip(taken, pending, strict=True):
        if future.done():
            continue
        error = item.future.exception()
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(item.future.result())


class MessageEngine:
    """Scores and decides messages; safe to share between threads.

    Concurrent ``process`` calls are grouped by writer threads into
    transactions of up to ``max_batch`` events (group commit); each caller
    returns only after the transaction holding its decision has committed.
    PostgreSQL runs ``writers`` batches at once (the version check, or row
    locks, keep each conversation's messages in turn; the threads overlap their
    round trips to the server); SQLite writes one at a time, so one thread. The HTTP service
    decides through :meth:`decide`, which runs the same batches on its event
    loop instead (see :meth:`start_on_loop`).
    """

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        detector: Detector,
        settings: Settings,
        *,
        on_escalation: Callable[[Session, EscalationRow], None] | None = None,
        max_batch: int = 64,
        inline: bool | None = None,
        writers: int | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.detector = detector
        self.settings = settings
        self.on_escalation = on_escalation
        self.max_batch = max_batch
        bind = session_factory.kw["bind"]
        self.sqlite = bind.dialect.name == "sqlite"
        self._sqlite_writer = WriterLock(bind.url.database if self.sqlite else None)
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self.writers = writers or (1 if self.sqlite else POSTGRES_WRITERS)
        self._threads: list[threading.Thread] = []
        self._thread_lock = threading.Lock()
        self.inline = self.sqlite if inline is None else inline
        self._inline_queue: list[tuple[MessageEvent, asyncio.Future[Outcome]]] = []
        self._inline_task: asyncio.Task[None] | None = None
        self._loop_engine: AsyncEngine | None = None
        self._loop_queue: list[tuple[MessageEvent, asyncio.Future[Outcome]]] = []
        self._loop_tasks = 0  # running _loop_batches; counted down as each one finds no work
        self._loop_busy = 0  # of those, the ones deciding a batch now
        self._running: set[asyncio.Task[None]] = set()
        self._autocommit_bind: Any = None
        self.optimism = _Optimism()

    @contextmanager
    def writer(self) -> Iterator[None]:
        """SQLite has one writer: serialise write transactions across threads and processes."""
        if self.sqlite:
            with self._sqlite_writer.hold():
                yield
        else:
            yield

    def submit(self, event: MessageEvent) -> Future[Outcome]:
        """Queue ``event``; the future resolves once its decision is committed."""
        self._ensure_thread()
        pending = _Pending(event)
        self._queue.put(pending)
        return pending.future

    async def start_on_loop(self) -> None:
        """PostgreSQL: from now on ``decide`` runs batches on the running event loop
        (async psycopg) instead of writer threads, until :meth:`stop_on_loop`.

        The service calls this at start-up. Threads would hand the interpreter
        lock back and forth with the loop on every database round trip; on the
        loop a batch waits for the database without holding anything up, and
        the requests that arrive meanwhile make up the next batch. A batch decided
        without locks sends its two statements on the driver's own connection
        (:meth:`_store_on_driver`); one decided under the locks runs through a
        session in the engine's greenlet, as on the writer threads.
        """
        if self.sqlite or self._loop_engine is not None:
            return
        self._loop_engine = create_loop_engine(self.session_factory.kw["bind"].url, self.writers)

    @property
    def runs_on_loop(self) -> bool:
        """True while ``decide`` runs PostgreSQL batches on the event loop."""
        return self._loop_engine is not None

    async def stop_on_loop(self) -> None:
        """Let the loop's queued batches finish, then close its connections."""
        engine = self._loop_engine
        if engine is None:
            return
        while self._loop_tasks or self._loop_queue:
            await asyncio.sleep(0.01)
        self._loop_engine = None
        await engine.dispose()

    async def decide(self, event: MessageEvent) -> Outcome:
        """Decide ``event`` from an event loop (the HTTP service); returns once committed.

        On SQLite the loop runs the batches itself (``inline``): the decision
        work then never waits for the interpreter lock behind request parsing
        in the same process, and the write lock is only tried, never waited
        for, so the loop keeps serving requests while another server process
        writes. On PostgreSQL, once :meth:`start_on_loop` has run, up to
        ``writers`` batches run on the loop at once (async psycopg); before
        that, batches run on the writer threads.
        """
        if self._loop_engine is None and not self.inline:
            return await asyncio.wrap_future(self.submit(event))
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Outcome] = loop.create_future()
        if self._loop_engine is not None:
            self._loop_queue.append((event, future))
            if self._loop_tasks < self.writers:
                self._loop_tasks += 1
                task = loop.create_task(self._loop_batches())
                self._running.add(task)
                task.add_done_callback(self._running.discard)
        else:
            self._inline_queue.append((event, future))
            if self._inline_task is None or self._inline_task.done():
                self._inline_task = loop.create_task(self._inline_batches())
        return await future

    async def _loop_batches(self) -> None:
        """PostgreSQL on the loop: run queued events in batches until none are left."""
        try:
            await asyncio.sleep(0)  # requests already read join this batch
            # No await between the last check of the queue and the count going down:
            # an event queued while the count is at its limit always finds a runner.
            while self._loop_queue:
                size = _within_text_budget(self._loop_queue, self._loop_batch_size())
                taken = self._loop_queue[:size]
                del self._loop_queue[:size]
                pending = [_Pending(event) for event, _ in taken]
                self._loop_busy += 1
                try:
                    await self._run_loop_batch(pending)
                finally:
                    self._loop_busy -= 1
                _settle(taken, pending)
        finally:
            self._loop_tasks -= 1

    async def _run_loop_batch(self, pending: list[_Pending]) -> None:
        """Decide and store ``pending`` on one of the loop's connections; every item ends
        resolved or failed."""
        for attempt in range(2):
            try:
                assert self._loop_engine is not None  # only stop_on_loop clears it, once idle
                async with self._loop_engine.connect() as connection:
                    outcomes = await self._store_on_driver(connection, [p.event for p in pending])
                    if outcomes is None:
                        await connection.run_sync(self._commit_on, pending)
                    else:
                        for item, outcome in zip(pending, outcomes, strict=True):
                            item.resolve(outcome)
            except Exception as exc:
                if attempt == 0 and is_disconnect(exc):
                    # A pooled connection outlived a database restart: the
                    # batch again on a new one (decisions are idempotent).
                    log.warning("database connection lost; batch retried", error=type(exc).__name__)
                    continue
                for item in pending:  # never leave a caller waiting
                    item.fail(exc)
            break

    def _loop_batch_size(self) -> int:
        """How many queued events the next loop batch takes: a share for each runner
        free to take one, at least ``LOOP_SPLIT_MIN``.

        A closed burst of requests (every client waiting for an answer) would
        otherwise make one batch, and the process would have nothing to do while
        the database works on it; split, one batch is decided while the database
        reads or writes another.
        """
        free = max(1, self._loop_tasks - self._loop_busy)
        share = -(-len(self._loop_queue) // free)
        return min(self.max_batch, max(LOOP_SPLIT_MIN, share))

    async def _store_on_driver(
        self, connection: AsyncConnection, events: list[MessageEvent]
    ) -> list[Outcome] | None:
        """PostgreSQL on the loop: decide ``events`` without locks and store them if nothing
        they read changed meanwhile (as ``_prepare`` and ``_store_prepared``), sending the
        two statements on the driver's own connection; None when the batch must be
        decided under the locks instead (``_commit_on``).

        Through a session the same batch cost about 1 ms more server CPU (the greenlet
        adapter, session, isolation switches, result and transaction machinery): a
        third of the engine's CPU per message at 16 messages per batch, on the path
        that nearly every batch the service decides takes.
        """
        if not self.optimism.worth_trying():
            return None
        import psycopg

        raw = (await connection.get_raw_connection()).driver_connection
        read = _batch_read(events, self.settings, postgres=True)
        try:
            await raw.set_autocommit(True)  # each statement its own transaction
            try:
                cursor = await raw.execute(_driver_sql(_BATCH_READS[(True, False)]), read.parameters)
                view = _BatchView(None, read, await cursor.fetchall(), lock=False, optimistic=True)
                outcomes = [self._decide(view, event) for event in events]
                await raw.execute(_driver_sql(_PG_STORE_IF_UNCHANGED), view.store_parameters())
            finally:
                if not raw.broken:
                    await raw.set_autocommit(False)
        except psycopg.Error as exc:
            if raw.broken:
                await connection.invalidate(exc)
                raise ConnectionLost(str(exc)) from exc
            if exc.sqlstate not in _CHANGED_MEANWHILE:
                log.warning("batch decided again under the locks", error=type(exc).__name__)
            self.optimism.record(False)
            return None
        except Exception:  # _NeedsLock, or an event the locked path will isolate
            self.optimism.record(False)
            return None
        self.optimism.record(True)
        return outcomes

    def _commit_on(self, connection: Connection, pending: list[_Pending]) -> None:
        """Run ``pending`` under the locks on ``connection`` (inside the loop engine's greenlet)."""
        self._commit(
            pending, raise_errors=False, prepared=_Prepared(None, []), sessions=_sessions_on(connection)
        )

    async def _inline_batches(self) -> None:
        await asyncio.sleep(0)  # requests already read join this batch
        while self._inline_queue:
            size = _within_text_budget(self._inline_queue, self.max_batch)
            taken = self._inline_queue[:size]
            del self._inline_queue[:size]
            pending = [_Pending(event) for event, _ in taken]
            prepared = self._prepare_if_worth_it([item.event for item in pending])
            while not self._sqlite_writer.try_acquire():
                await asyncio.sleep(INLINE_LOCK_RETRY_S)
            try:
                try:
                    self._commit(pending, raise_errors=False, prepared=prepared)
                except Exception as exc:  # never leave a caller waiting
                    for item in pending:
                        item.fail(exc)
            finally:
                self._sqlite_writer.release()
            _settle(taken, pending)
            await asyncio.sleep(0)

    def process(self, event: MessageEvent) -> Outcome:
        """Decide ``event``; returns once the decision is committed."""
        return self.submit(event).result()

    def process_many(self, events: list[MessageEvent]) -> list[Outcome]:
        """Decide ``events`` in order, in one transaction (batch tools, stream workers)."""
        return self._commit([_Pending(e) for e in events], raise_errors=True)

    def close(self) -> None:
        """Stop the writer threads once the queued events are done."""
        with self._thread_lock:
            for _ in self._threads:
                self._queue.put(None)
            for thread in self._threads:
                thread.join(timeout=30)
            self._threads = []

    def _ensure_thread(self) -> None:
        if not self._threads:
            with self._thread_lock:
                if not self._threads:
                    self._threads = [
                        threading.Thread(target=self._writer_loop, name=f"decisions-{i}", daemon=True)
                        for i in range(self.writers)
                    ]
                    for thread in self._threads:
                        thread.start()

    def _writer_loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)
                    break
                batch.append(item)
            try:
                self._commit(batch, raise_errors=False)
            except BaseException as exc:  # never leave a caller waiting
                for pending in batch:
                    pending.fail(exc)

    def _commit(
        self,
        batch: list[_Pending],
        *,
        raise_errors: bool,
        prepared: _Prepared | None = None,
        sessions: Sessions | None = None,
    ) -> list[Outcome]:
        """Run ``batch`` in one transaction; if that fails, each event on its own."""
        sessions = sessions or self._new_session
        try:
            outcomes = self._transaction([p.event for p in batch], prepared, sessions)
        except Exception as error:
            if is_disconnect(error):  # not the events' fault: the caller decides
                raise
            outcomes = []
            for pending in batch:
                try:
                    try:
                        outcome = self._transaction([pending.event], None, sessions)[0]
                    except IntegrityError as exc:
                        outcome = self._stored_after_race(pending.event, exc, sessions)
                except Exception as error:
                    if raise_errors or is_disconnect(error):
                        raise
                    pending.fail(error)
                    continue
                pending.resolve(outcome)
                outcomes.append(outcome)
            return outcomes
        for pending, outcome in zip(batch, outcomes, strict=True):
            pending.resolve(outcome)
        return outcomes

    def _new_session(self, autocommit: bool = False) -> Session:
        if autocommit:
            if self._autocommit_bind is None:
                self._autocommit_bind = self.session_factory.kw["bind"].execution_options(
                    isolation_level="AUTOCOMMIT"
                )
            return self.session_factory(bind=self._autocommit_bind, autoflush=False)
        return self.session_factory(autoflush=False)

    def _stored_after_race(self, event: MessageEvent, exc: IntegrityError, sessions: Sessions) -> Outcome:
        """Another process stored this message's key first: answer with its decision."""
        with sessions(False) as session:
            stored = session.get(MessageDecisionRow, (event.conversation_id, event.message_id))
        if stored is None:
            raise exc
        return _stored_outcome(_Stored(stored.decision, stored.sender_id, stored.request_digest), event)

    def _prepare_if_worth_it(self, events: list[MessageEvent], sessions: Sessions | None = None) -> _Prepared:
        """``_prepare``, unless recent batches mostly had to be decided again under the locks."""
        if not self.optimism.worth_trying():
            return _Prepared(None, [])
        prepared = self._prepare(events, sessions)
        if prepared.view is None:
            self.optimism.record(False)
        return prepared

    def _prepare(self, events: list[MessageEvent], sessions: Sessions | None = None) -> _Prepared:
        """Decide ``events`` without the write lock (SQLite) or row locks (PostgreSQL, outside
        any transaction): reads only, writes kept for later."""
        session = (sessions or self._new_session)(not self.sqlite)
        try:
            view = _BatchView.load(session, events, self.settings, lock=False, optimistic=True)
            outcomes = [self._decide(view, event) for event in events]
        except Exception:  # _NeedsLock, or an event the locked path will isolate
            return _Prepared(None, [])
        finally:
            session.close()
        return _Prepared(view, outcomes)

    def _store_prepared(self, prepared: _Prepared, sessions: Sessions | None = None) -> list[Outcome] | None:
        """Store a prepared batch if what it read is unchanged, else None.

        SQLite: checked and written under the write lock. PostgreSQL: one statement
        that checks as it writes and fails as a whole if anything changed.
        """
        view = prepared.view
        assert view is not None
        if not self.sqlite:
            session = (sessions or self._new_session)(True)
            try:
                session.connection().execute(_PG_STORE_IF_UNCHANGED, view.store_parameters())
                session.commit()
            except DBAPIError as exc:
                session.rollback()
                if getattr(exc.orig, "sqlstate", None) in _CHANGED_MEANWHILE:
                    return None
                raise
            except BaseException:
                session.rollback()
                raise
            finally:
                session.close()
            return prepared.outcomes
        versions = {
            cid: entry.version for cid, entry in view.conversations.items() if entry.state is not None
        }
        session = self.session_factory(autoflush=False)
        try:
            changed = session.connection().execute(
                _CHANGED_SINCE_READ,
                {
                    **accounts.list_values("ids", (d["message_id"] for d in view.decisions), postgres=False),
                    **accounts.list_values("conversations", versions, postgres=False),
                },
            )
            ours = {(d["conversation_id"], d["message_id"]) for d in view.decisions}
            current: dict[str, int | None] = {}
            for kind, key, value in changed:
                if kind == "d":
                    if (value, key) in ours:  # decided elsewhere meanwhile: the locked path replays it
                        return None
                    continue
                current[key] = value
            if any(current.get(cid) != version for cid, version in versions.items()):
                return None
            view.session, view.optimistic = session, False  # checked: now it may write
            view.write()
            session.commit()
            return prepared.outcomes
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def _transaction(
        self,
        events: list[MessageEvent],
        prepared: _Prepared | None = None,
        sessions: Sessions | None = None,
    ) -> list[Outcome]:
        """Decide and store ``events`` in one transaction.

        The batch is first decided without locks (``_prepare``, unless the caller
        did) and stored if nothing it read changed meanwhile: on SQLite the write
        lock is then held only to check and write, on PostgreSQL no row lock is
        held while deciding and the batch costs two round trips. Otherwise, and for
        batches that write as they decide, it is decided again under the locks.
        """
        sessions = sessions or self._new_session
        if prepared is None:
            prepared = self._prepare_if_worth_it(events, sessions)
        with self.writer():
            if prepared.view is not None:
                outcomes = self._store_prepared(prepared, sessions)
                self.optimism.record(outcomes is not None)
                if outcomes is not None:
                    return outcomes
            # Reads and writes go through Core statements on the session's
            # connection; only escalations use the ORM (and are flushed at commit).
            session = sessions(False)
            try:
                view = _BatchView.load(session, events, self.settings, lock=not self.sqlite)
                outcomes = [self._decide(view, event) for event in events]
                view.write()
                session.commit()
                return outcomes
            except BaseException:
                session.rollback()
                raise
            finally:
                session.close()

    def _decide(self, view: _BatchView, event: MessageEvent) -> Outcome:
        settings = self.settings
        rules = settings.policy
        key = (event.conversation_id, event.message_id)
        stored = view.stored.get(key)
        if stored is not None:
            return _stored_outcome(stored, event)
        conversation = view.conversation(self.detector, event.conversation_id)
        state = conversation.state

        sender_id = event.sender_id
        recipients = [r for r in dict.fromkeys(event.recipient_ids) if r != sender_id]
        people = view.people
        sender = people[sender_id]
        if sender.age_band == "unknown" and event.sender_age_band:
            sender = Party(sender.id, event.sender_age_band, "self_declared")
        assessment = self._assess(state, event, sender.age_band, [people[r].age_band for r in recipients])
        categories = {str(signal.category) for signal in assessment.signals}
        connected = {r for r in recipients if (sender_id, r) in view.connected}
        minors = [r for r in recipients if is_minor(people[r], rules)]
        unconnected_minors = [m for m in minors if m not in connected]
        confirmed = {m for m in unconnected_minors if (m, sender_id) in view.confirmed}
        if is_minor(sender, rules):
            # A minor writing to an account is a minor choosing that contact.
            for other in recipients:
                if other not in connected and (sender_id, other) not in view.confirmed:
                    accounts.confirm_contact(view.writing_session(), sender_id, other)
                    view.confirmed.add((sender_id, other))

        changed = view.record_contacts(sender_id, unconnected_minors)
        tracked = categories.intersection(settings.account_risk.repeated_signal_categories)
        changed |= view.record_signals(sender_id, event.conversation_id, sorted(tracked))
        if changed:
            view.flush_inputs()
            account = accounts.refresh_account_risk(view.writing_session(), sender_id, settings)
            view.risk[sender_id] = account
        else:
            account = view.risk.get(sender_id) or AccountRisk(sender_id, 0.0, [])

        decision = decide_message(
            sender,
            [
                RecipientContext(people[r], connected=r in connected, confirmed=r in confirmed)
                for r in recipients
            ],
            message_risk=float(assessment.risk),
            conversation_risk=float(state.risk),
            categories=categories,
            account_risk=account.risk,
            account_reasons=account.reasons,
            settings=settings,
        )
        case_id = None
        escalations: list[str] = []
        if decision.action is Action.ESCALATE:
            session = view.writing_session()
            escalation = EscalationRow(
                id=uuid.uuid4().hex,
                kind="message",
                subject_account_id=sender_id,
                recipient_ids=recipients,
                conversation_id=event.conversation_id,
                message_id=event.message_id,
                risk=float(state.risk),
                priority=1 if minors else 2,
                reasons=[r.to_dict() for r in decision.reasons],
                evidence=_evidence(state),
                status="open",
                created_at=accounts.utcnow(),
            )
            session.add(escalation)
            case_id = escalation.id
            escalations.append(escalation.id)
            if self.on_escalation is not None:
                self.on_escalation(session, escalation)

        body = message_decision_dict(decision, case_id)
        digest = request_digest(event.conversation_id, event.message_id, event.recipient_ids, event.text)
        conversation.message_count += 1
        view.decisions.append(
            {
                "message_id": event.message_id,
                "conversation_id": event.conversation_id,
                "sender_id": sender_id,
                "action": body["action"],
                "risk": body["risk"],
                "conversation_risk": body["conversation_risk"],
                "decision": body,
                "case_id": case_id,
                "created_at": accounts.utcnow(),
                "request_digest": digest,
            }
        )
        view.stored[key] = _Stored(body, sender_id, digest)
        return Outcome(body, created=True, escalation_ids=escalations)

    @staticmethod
    def _assess(state: Any, event: MessageEvent, sender_band: str, recipient_bands: list[str]) -> Any:
        """Score the message with its conversation state and the age bands the store knows.

        The sender's stored band stands in when the event carries none, and the
        recipients' bands tell the state a child is being written to.
        """
        message = event.to_message()
        if message.sender_age_band is None and sender_band != "unknown":
            message = dataclasses.replace(message, sender_age_band=sender_band)
        try:
            return state.add_message(message, recipient_age_bands=recipient_bands)
        except TypeError:  # a detector state that does not take recipient bands
            return state.add_message(message)

    def update_conversation(self, conversation_id: str, apply: Callable[[Any], None]) -> Any:
        """Change one conversation's detector state under the same lock as messages.

        ``apply`` receives the conversation's state (restored, or new) and changes
        it in place (e.g. records a media event); the state is stored and returned.
        """
        with self.writer():
            session = self.session_factory(autoflush=False)
            try:
                view = _BatchView.load(
                    session, [], self.settings, lock=not self.sqlite, conversation_ids=[conversation_id]
                )
                state = view.conversation(self.detector, conversation_id).state
                apply(state)
                view.write()
                session.commit()
                return state
            except BaseException:
                session.rollback()
                raise
            finally:
                session.close()

    def connection_request(
        self, requester_id: str, target_id: str
    ) -> tuple[ConnectionRequestDecision, str | None]:
        """Decide a connection request; an escalation is stored (case id returned)."""
        with self.writer():
            session = self.session_factory()
            try:
                people = accounts.parties(session, [requester_id, target_id])
                connected = bool(accounts.connected_among(session, requester_id, [target_id]))
                risk = accounts.account_risk(session, requester_id, self.settings)
                decision = decide_connection_request(
                    people[requester_id],
                    people[target_id],
                    connected=connected,
                    requester_account_risk=risk.risk,
                    account_reasons=risk.reasons,
                    settings=self.settings,
                )
                case_id = None
                if decision.action is Action.ESCALATE:
                    escalation = EscalationRow(
                        id=uuid.uuid4().hex,
                        kind="connection_request",
                        subject_account_id=requester_id,
                        recipient_ids=[target_id],
                        risk=risk.risk,
                        priority=1,
                        reasons=[r.to_dict() for r in decision.reasons],
                        evidence={"account_risk": risk.to_dict()},
                        status="open",
                    )
                    session.add(escalation)
                    case_id = escalation.id
                    if self.on_escalation is not None:
                        self.on_escalation(session, escalation)
                session.commit()
                return decision, case_id
            except BaseException:
                session.rollback()
                raise
            finally:
                session.close()


def _evidence(state: Any) -> dict:
    """Case evidence from a conversation state: signals with their excerpts, the stage."""
    signals = [
        {
            "category": getattr(s, "category", None),
            "message_index": getattr(s, "message_index", None),
            "excerpt": getattr(s, "excerpt", None),
            "weight": float(getattr(s, "weight", 0.0) or 0.0),
        }
        for s in list(getattr(state, "signals", []) or [])[-50:]
    ]
    stage = getattr(state, "stage", None)
    return {
        "stage": stage if stage is None or isinstance(stage, str) else str(stage),
        "signals": signals,
        "author_scores": {
            str(k): float(v) for k, v in dict(getattr(state, "author_scores", {}) or {}).items()
        },
    }
