"""The message engine's batch read and writes, behind one small typed interface.

A batch of message events needs, from the store, in one round trip: the
decisions already stored under its keys, its conversations' detector states
and versions, and its accounts' context (age bands, connections, confirmed
contacts, cached risks, recent contacts with minors, signals already counted).
:meth:`BatchStore.read` returns all of it as a :class:`BatchSnapshot`; the batch's
decisions, states and account inputs go back as one :class:`BatchWrites`, either
inside the caller's transaction (:meth:`BatchStore.write`) or only if nothing the
batch read has changed meanwhile (:meth:`BatchStore.write_if_unchanged`).

Each database has its implementation (:mod:`safeguard.store.batch_sqlite`,
:mod:`safeguard.store.batch_postgres`); :func:`batch_store` picks one. The tables
are named here as plain table clauses, so the store imports no capability package;
``tests/policy/test_policy_engine.py`` checks that they match the models.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, Protocol

import orjson
from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    Integer,
    String,
    Text,
    and_,
    bindparam,
    column,
    func,
    literal_column,
    null,
    select,
    table,
    union_all,
)
from sqlalchemy.engine import URL, Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from safeguard.core.types import Party, Reason
from safeguard.store.db import WriterLock
from safeguard.store.sql import in_list, list_values, upsert_statement

# The tables a batch reads and writes (see the capabilities' models for their meaning).
DECISIONS = table(
    "message_decisions",
    column("message_id", String),
    column("conversation_id", String),
    column("sender_id", String),
    column("action", String),
    column("risk", Float),
    column("conversation_risk", Float),
    column("decision", JSON),
    column("case_id", String),
    column("created_at", DateTime(timezone=True)),
    column("request_digest", String),
)
CONVERSATIONS = table(
    "conversations",
    column("id", String),
    column("state", JSON),
    column("risk", Float),
    column("message_count", Integer),
    column("updated_at", DateTime(timezone=True)),
    column("version", Integer),
)
ACCOUNTS = table(
    "accounts", column("id", String), column("age_band", String), column("age_assurance", String)
)
CONNECTIONS = table("connections", column("a_id", String), column("b_id", String))
PERMISSIONS = table("contact_permissions", column("minor_id", String), column("other_id", String))
RISKS = table("account_risk", column("account_id", String), column("risk", Float), column("reasons", Text))
CONTACTS = table(
    "contact_events",
    column("sender_id", String),
    column("recipient_id", String),
    column("at", DateTime(timezone=True)),
)
SIGNALS = table(
    "account_signals",
    column("account_id", String),
    column("category", String),
    column("conversation_id", String),
    column("count", Integer),
    column("last_at", DateTime(timezone=True)),
)
CONVERSATION_UPDATES = ("state", "risk", "message_count", "updated_at", "version")

Key = tuple[str, str]  # (conversation_id, message_id)
# The separator of sender id and request digest in the batch read (ids hold no control characters).
KEY_SEPARATOR = "\x1f"


@dataclass(frozen=True, slots=True)
class BatchRequest:
    """What a batch asks of the store: its keys, conversations and accounts."""

    keys: frozenset[Key]
    conversation_ids: list[str]
    people: list[str]
    sender_pairs: frozenset[tuple[str, str]]  # (sender, recipient), directed
    sender_conversations: frozenset[tuple[str, str]]  # (sender, conversation)
    categories: tuple[str, ...]  # signal categories counted per conversation
    since: datetime  # contacts with minors count from here


@dataclass(frozen=True, slots=True)
class StoredDecision:
    """A decision already stored under a message's key, and what it was bound to."""

    decision: dict
    sender_id: str
    request_digest: str | None


@dataclass(slots=True)
class StoredConversation:
    """A conversation's stored detector state, message count and version (None: no row yet)."""

    state: dict | None
    message_count: int
    version: int | None


class CachedRisk(NamedTuple):
    """An account's last computed risk and its reasons."""

    risk: float
    reasons: list[Reason]


@dataclass(slots=True)
class BatchSnapshot:
    """Everything a batch read: stored decisions, conversations, and the accounts' context."""

    decisions: dict[Key, StoredDecision] = field(default_factory=dict)
    conversations: dict[str, StoredConversation] = field(default_factory=dict)
    people: dict[str, Party] = field(default_factory=dict)
    connected: set[tuple[str, str]] = field(default_factory=set)  # both orientations
    confirmed: set[tuple[str, str]] = field(default_factory=set)  # (minor, other)
    risks: dict[str, CachedRisk] = field(default_factory=dict)
    contacted: set[tuple[str, str]] = field(default_factory=set)  # (sender, minor) in the window
    signals_seen: set[tuple[str, str, str]] = field(default_factory=set)  # (sender, conversation, category)


@dataclass(slots=True)
class BatchWrites:
    """What a batch stores: decision rows, conversation rows (in id order), and account inputs."""

    decisions: list[dict]
    conversations: list[dict]
    contacts: list[tuple[str, str]]
    signals: dict[tuple[str, str, str], int]
    at: datetime


class BatchStore(Protocol):
    """The batch read and writes on one database (see the module docstring).

    What the engine must know of the database comes as attributes, so it never asks
    which database it is: ``one_writer`` (one write transaction at a time across
    processes: the engine holds :meth:`writer_lock` around each, and decides on the
    service's event loop itself), ``autocommit_reads`` (the unlocked read and the
    checked write each run as their own transaction), ``writers`` (concurrent write
    transactions worth running per process) and ``on_loop`` (batches can run on the
    event loop's async driver: :meth:`on_driver`).
    """

    dialect: str
    one_writer: bool
    autocommit_reads: bool
    writers: int
    on_loop: bool

    def writer_lock(self, url: URL) -> WriterLock | None:
        """The lock serialising write transactions on the database at ``url`` (``one_writer``)."""
        ...

    def read(self, connection: Connection, request: BatchRequest, *, lock: bool) -> BatchSnapshot:
        """Read what ``request`` needs; with ``lock``, its conversations' rows stay locked (and
        the missing ones are created) until the transaction ends, where the database has row locks."""
        ...

    def write(self, connection: Connection, writes: BatchWrites) -> None:
        """Send ``writes`` in the caller's transaction."""
        ...

    def write_if_unchanged(
        self, connection: Connection, writes: BatchWrites, versions: dict[str, int | None]
    ) -> bool:
        """Send ``writes`` only if no decision under their keys was stored and no conversation
        moved from ``versions`` since the read; False (nothing written) otherwise. The caller
        commits after True, rolls back after False."""
        ...


class DriverBatch(Protocol):
    """A batch's unlocked read and version-checked write on the async driver's connection."""

    async def read(self, request: BatchRequest) -> BatchSnapshot:
        """The unlocked batch read."""
        ...

    async def write_if_unchanged(self, writes: BatchWrites) -> bool:
        """The one-statement write; False when something the batch read changed meanwhile."""
        ...


class LoopBatchStore(BatchStore, Protocol):
    """A store whose batches can run on an event loop (``on_loop``): PostgreSQL."""

    def loop_engine(self, url: URL, pool_size: int) -> AsyncEngine:
        """The async engine the service's event loop runs batches on."""
        ...

    def on_driver(self, connection: AsyncConnection) -> AbstractAsyncContextManager[DriverBatch]:
        """The batch's statements on the driver's own connection, without a session."""
        ...


def batch_store(dialect: str) -> BatchStore:
    """The implementation for a database dialect (``sqlite`` or ``postgresql``)."""
    if dialect == "postgresql":
        from safeguard.store.batch_postgres import PostgresBatchStore

        return PostgresBatchStore()
    from safeguard.store.batch_sqlite import SqliteBatchStore

    return SqliteBatchStore()


# --------------------------------------------------------------------------- the read


def read_parameters(request: BatchRequest, postgres: bool) -> dict[str, Any]:
    """The batch read's parameters: one list parameter per lookup."""
    directed = set(request.sender_pairs)
    both = directed | {(b, a) for a, b in directed}
    return {
        **list_values("people", request.people, postgres),
        **list_values("ordered_pairs", {(a, b) if a < b else (b, a) for a, b in both if a != b}, postgres, 2),
        **list_values("pairs", both, postgres, 2),
        **list_values("senders", {a for a, _ in directed}, postgres),
        **list_values("sender_pairs", directed, postgres, 2),
        **list_values("sender_conversations", request.sender_conversations, postgres, 2),
        **list_values("categories", request.categories, postgres),
        "since": request.since,
        **list_values("ids", (message_id for _, message_id in request.keys), postgres),
        **list_values("conversations", request.conversation_ids, postgres),
    }


def states_select(postgres: bool, lock: bool) -> Any:
    """The conversations' states; with ``lock``, their rows locked in id order (``FOR UPDATE``).

    One lock order in every process: batches cannot deadlock on existing rows.
    """
    stmt = select(
        CONVERSATIONS.c.id,
        CONVERSATIONS.c.state.cast(String).label("state"),
        CONVERSATIONS.c.message_count.cast(String).label("message_count"),
        CONVERSATIONS.c.version.cast(String).label("version"),
    ).where(in_list((CONVERSATIONS.c.id,), "conversations", postgres))
    return stmt.order_by(CONVERSATIONS.c.id).with_for_update() if lock else stmt


def stored_keys(postgres: bool) -> Any:
    """Decisions of the batch's conversations with one of its message ids (a superset of
    its keys, matched up exactly as the rows are read)."""
    return and_(
        in_list((DECISIONS.c.conversation_id,), "conversations", postgres),
        in_list((DECISIONS.c.message_id,), "ids", postgres),
    )


def read_statement(postgres: bool, lock: bool) -> Any:
    """Stored decisions, conversation states (locked with ``lock``) and the accounts' context,
    in one ``UNION ALL`` of five-column rows tagged by kind: one round trip per batch."""
    stmt = states_select(postgres, lock)
    states = stmt.cte("states") if lock else stmt.subquery()
    sender_and_digest = (
        DECISIONS.c.sender_id
        + literal_column(f"'{KEY_SEPARATOR}'")
        + func.coalesce(DECISIONS.c.request_digest, literal_column("''"))
    )

    def member(name: str, *columns: Any) -> Any:
        return in_list(columns, name, postgres)

    def kind(tag: str) -> Any:
        return literal_column(f"'{tag}'")

    return union_all(
        select(
            kind("d"),
            DECISIONS.c.message_id,
            DECISIONS.c.decision.cast(String),
            DECISIONS.c.conversation_id,
            sender_and_digest,
        ).where(stored_keys(postgres)),
        select(kind("v"), states.c.id, states.c.state, states.c.message_count, states.c.version),
        select(kind("p"), ACCOUNTS.c.id, ACCOUNTS.c.age_band, ACCOUNTS.c.age_assurance, null()).where(
            member("people", ACCOUNTS.c.id)
        ),
        select(kind("c"), CONNECTIONS.c.a_id, CONNECTIONS.c.b_id, null(), null()).where(
            member("ordered_pairs", CONNECTIONS.c.a_id, CONNECTIONS.c.b_id)
        ),
        select(kind("f"), PERMISSIONS.c.minor_id, PERMISSIONS.c.other_id, null(), null()).where(
            member("pairs", PERMISSIONS.c.minor_id, PERMISSIONS.c.other_id)
        ),
        select(kind("r"), RISKS.c.account_id, RISKS.c.risk.cast(String), RISKS.c.reasons, null()).where(
            member("senders", RISKS.c.account_id)
        ),
        select(kind("n"), CONTACTS.c.sender_id, CONTACTS.c.recipient_id, null(), null())
        .where(
            member("sender_pairs", CONTACTS.c.sender_id, CONTACTS.c.recipient_id),
            CONTACTS.c.at >= bindparam("since"),
        )
        .distinct(),
        select(kind("s"), SIGNALS.c.account_id, SIGNALS.c.conversation_id, SIGNALS.c.category, null()).where(
            member("sender_conversations", SIGNALS.c.account_id, SIGNALS.c.conversation_id),
            member("categories", SIGNALS.c.category),
        ),
    )


def snapshot(rows: Iterable[Sequence[Any]], request: BatchRequest) -> BatchSnapshot:
    """The read's tagged rows as a :class:`BatchSnapshot`."""
    result = BatchSnapshot()
    found: dict[str, Party] = {}
    for kind, a, b, c, d in rows:
        if kind == "d":
            key = (c, a)
            if key in request.keys:
                sender_id, _, digest = d.partition(KEY_SEPARATOR)
                result.decisions[key] = StoredDecision(orjson.loads(b), sender_id, digest or None)
        elif kind == "v":
            result.conversations[a] = stored_conversation(b, c, d)
        elif kind == "p":
            found[a] = Party(a, b, c)
        elif kind == "c":
            result.connected.update(((a, b), (b, a)))
        elif kind == "f":
            result.confirmed.add((a, b))
        elif kind == "r":
            result.risks[a] = CachedRisk(float(b), [Reason(**r) for r in orjson.loads(c)])
        elif kind == "n":
            result.contacted.add((a, b))
        elif kind == "s":
            result.signals_seen.add((a, b, c))
    result.people = {aid: found.get(aid, Party(aid)) for aid in request.people}
    return result


def stored_conversation(state: str | None, count: str | None, version: str | None) -> StoredConversation:
    """A conversation row as the read returns it (text columns)."""
    return StoredConversation(
        orjson.loads(state) if state is not None else None, int(count or 0), int(version or 0)
    )


# --------------------------------------------------------------------------- account inputs


def insert_contacts(connection: Connection, contacts: Sequence[tuple[str, str]], at: datetime) -> None:
    """Store ``(sender_id, minor_id)`` contact events (messages to unconnected minors) at ``at``."""
    if contacts:
        rows = [{"sender_id": a, "recipient_id": b, "at": at} for a, b in contacts]
        connection.execute(CONTACTS.insert(), rows)


def add_signals(connection: Connection, counts: dict[tuple[str, str, str], int], at: datetime) -> None:
    """Add ``counts`` of ``(account_id, conversation_id, category)`` signals."""
    if not counts:
        return
    stmt = upsert_statement(
        connection,
        SIGNALS,
        ["account_id", "category", "conversation_id"],
        lambda s: {"count": SIGNALS.c.count + s.excluded.count, "last_at": s.excluded.last_at},
    )
    connection.execute(stmt, signal_rows(counts, at))


def signal_rows(counts: dict[tuple[str, str, str], int], at: datetime) -> list[dict]:
    """Signal counts as rows, in key order."""
    return [
        {"account_id": a, "conversation_id": c, "category": k, "count": n, "last_at": at}
        for (a, c, k), n in sorted(counts.items())
    ]
