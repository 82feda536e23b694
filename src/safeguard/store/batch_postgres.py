"""The batch read and writes on PostgreSQL: row locks, array parameters, one-statement writes.

A batch's decisions and conversation states go in one statement, one array per
column. Statements with one row per execution (executemany) run in psycopg's
pipeline mode, which on the event loop polls the socket until the server
answers; this is one round trip and one execution for the whole batch. JSON
values travel as one JSON document per column: psycopg escapes each element of
a text array in Python, which is slow for a conversation's state.

A batch decided without row locks writes everything in one statement, which on
its own is one transaction (autocommit), so it costs two round trips (read,
write) instead of BEGIN, read, writes and COMMIT. Each conversation is written
only at the version the batch read (a row another transaction locked is
rechecked at its new version once that commits); ``safeguard_all_written``
(migration 0006) fails the whole statement when one was not, and so does a
decision stored meanwhile (unique key). The service's event loop sends both
statements on the driver's own connection (:meth:`PostgresBatchStore.on_driver`).
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog
from sqlalchemy import text
from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from safeguard.core.clock import utcnow
from safeguard.store.batch import (
    CONVERSATION_UPDATES,
    CONVERSATIONS,
    BatchRequest,
    BatchSnapshot,
    BatchWrites,
    add_signals,
    insert_contacts,
    read_parameters,
    read_statement,
    signal_rows,
    snapshot,
    states_select,
    stored_conversation,
)
from safeguard.store.db import ConnectionLost, WriterLock, create_loop_engine, json_text, pg_array
from safeguard.store.sql import insert_for, list_values

log = structlog.get_logger("safeguard.store")

DECISION_ARRAYS = (
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
CONVERSATION_ARRAYS = (
    ("id", "VARCHAR"),
    ("state", "JSON"),
    ("risk", "FLOAT8"),
    ("message_count", "INTEGER"),
    ("updated_at", "TIMESTAMPTZ"),
    ("version", "INTEGER"),
)
CONTACT_ARRAYS = (("sender_id", "VARCHAR"), ("recipient_id", "VARCHAR"), ("at", "TIMESTAMPTZ"))
SIGNAL_ARRAYS = (
    ("account_id", "VARCHAR"),
    ("category", "VARCHAR"),
    ("conversation_id", "VARCHAR"),
    ("count", "INTEGER"),
    ("last_at", "TIMESTAMPTZ"),
)
Columns = tuple[tuple[str, str], ...]


def _rows_select(prefix: str, columns: Columns) -> str:
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


def _insert_rows(table: str, prefix: str, columns: Columns) -> str:
    names = ", ".join(name for name, _ in columns)
    return f"INSERT INTO {table} ({names}) " + _rows_select(prefix, columns)


_STORE_DECISIONS = _insert_rows("message_decisions", "d_", DECISION_ARRAYS)
_UPSERT_CONVERSATIONS = (
    _insert_rows("conversations", "c_", CONVERSATION_ARRAYS)
    + " ON CONFLICT (id) DO UPDATE SET "
    + ", ".join(f"{name} = excluded.{name}" for name in CONVERSATION_UPDATES)
)
# A batch's decisions and conversation states, under the locks.
_STORE_BATCH = text(f"WITH stored AS ({_STORE_DECISIONS}) {_UPSERT_CONVERSATIONS}")
# A batch decided without locks: everything it writes, at the versions it read.
_STORE_IF_UNCHANGED = text(
    f"WITH stored AS ({_STORE_DECISIONS}), contacts AS ("
    + _insert_rows("contact_events", "k_", CONTACT_ARRAYS)
    + "), signals AS ("
    + _insert_rows("account_signals", "s_", SIGNAL_ARRAYS)
    + " ON CONFLICT (account_id, category, conversation_id) DO UPDATE SET"
    " count = account_signals.count + excluded.count, last_at = excluded.last_at"
    + f"), written AS ({_UPSERT_CONVERSATIONS}"
    + " WHERE conversations.version = excluded.version - 1 RETURNING 1"
    + ") SELECT safeguard_all_written(CAST(:written AS INTEGER), (SELECT count(*) FROM written))"
)
# SQLSTATEs after which a batch decided without locks is decided again with them:
# a conversation changed (``safeguard_all_written``), a decision stored meanwhile,
# and a deadlock with a batch that locked the same rows in another order.
CHANGED_MEANWHILE = {"SG409", "23505", "40P01"}

_READS = {lock: read_statement(postgres=True, lock=lock) for lock in (False, True)}
# Conversations a batch creates: locked once inserted (after the batch's existing ones).
_LOCK_NEW_STATES = states_select(postgres=True, lock=True)


@functools.cache
def _driver_sql(statement: Any) -> str:
    """``statement`` as psycopg runs it (``%(name)s`` parameters), for the loop's fast path."""
    from sqlalchemy.dialects.postgresql.psycopg import dialect

    return str(statement.compile(dialect=dialect()))


def _array_parameters(*tables: tuple[str, list[dict], Columns]) -> dict[str, str]:
    """One array (or JSON document) per column of each ``(prefix, rows, columns)``."""
    parameters: dict[str, str] = {}
    for prefix, rows, columns in tables:
        for name, kind in columns:
            values = [row[name] for row in rows]
            parameters[prefix + name] = json_text(values) if kind == "JSON" else pg_array(values)
    return parameters


def unchanged_parameters(writes: BatchWrites) -> dict[str, str]:
    """The parameters of the one-statement write of a batch read without locks."""
    contacts = [{"sender_id": a, "recipient_id": b, "at": writes.at} for a, b in writes.contacts]
    parameters = _array_parameters(
        ("d_", writes.decisions, DECISION_ARRAYS),
        ("k_", contacts, CONTACT_ARRAYS),
        ("s_", signal_rows(writes.signals, writes.at), SIGNAL_ARRAYS),
        ("c_", writes.conversations, CONVERSATION_ARRAYS),
    )
    parameters["written"] = str(len(writes.conversations))
    return parameters


class PostgresBatchStore:
    """PostgreSQL: conversations locked in id order, array writes, a version-checked write."""

    dialect = "postgresql"
    one_writer = False
    autocommit_reads = True
    writers = 3  # concurrent decision transactions per process
    on_loop = True

    def writer_lock(self, url: URL) -> WriterLock | None:
        """None: row locks and the version check keep each conversation's messages in turn."""
        return None

    def loop_engine(self, url: URL, pool_size: int) -> AsyncEngine:
        """The async engine the service's event loop runs batches on."""
        return create_loop_engine(url, pool_size)

    def __init__(self) -> None:
        self._create: Any = None

    def read(self, connection: Connection, request: BatchRequest, *, lock: bool) -> BatchSnapshot:
        """One ``UNION ALL`` read; with ``lock`` the conversations are locked, and the ones
        without a row yet are created and locked after them."""
        rows = connection.execute(_READS[lock], read_parameters(request, postgres=True)).all()
        result = snapshot(rows, request)
        missing = [c for c in request.conversation_ids if c not in result.conversations]
        if lock and missing:
            self._create_and_lock(connection, missing, result)
        return result

    def _create_and_lock(
        self, connection: Connection, conversation_ids: list[str], result: BatchSnapshot
    ) -> None:
        if self._create is None:
            self._create = insert_for(connection, CONVERSATIONS).on_conflict_do_nothing(index_elements=["id"])
        now = utcnow()
        connection.execute(
            self._create,
            [
                {"id": c, "state": None, "risk": 0.0, "message_count": 0, "updated_at": now}
                for c in conversation_ids
            ],
        )
        locked = connection.execute(
            _LOCK_NEW_STATES, list_values("conversations", conversation_ids, postgres=True)
        )
        for cid, state, count, version in locked:
            result.conversations[cid] = stored_conversation(state, count, version)

    def write(self, connection: Connection, writes: BatchWrites) -> None:
        """Account inputs, then decisions and conversation states in one statement."""
        insert_contacts(connection, writes.contacts, writes.at)
        add_signals(connection, writes.signals, writes.at)
        if writes.decisions or writes.conversations:
            parameters = _array_parameters(
                ("d_", writes.decisions, DECISION_ARRAYS), ("c_", writes.conversations, CONVERSATION_ARRAYS)
            )
            connection.execute(_STORE_BATCH, parameters)

    def write_if_unchanged(
        self, connection: Connection, writes: BatchWrites, versions: dict[str, int | None]
    ) -> bool:
        """One statement on an autocommit connection, checking each version as it writes."""
        try:
            connection.execute(_STORE_IF_UNCHANGED, unchanged_parameters(writes))
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) in CHANGED_MEANWHILE:
                return False
            raise
        return True

    @asynccontextmanager
    async def on_driver(self, connection: AsyncConnection) -> AsyncIterator[DriverBatch]:
        """The batch's two statements on the driver's own connection (autocommit), without a
        session: about 1 ms less server CPU per batch than through the ORM's machinery.

        A connection that broke under them is dropped from the pool and reported as
        :class:`~safeguard.store.db.ConnectionLost`.
        """
        import psycopg

        raw = (await connection.get_raw_connection()).driver_connection
        try:
            await raw.set_autocommit(True)  # each statement its own transaction
            try:
                yield DriverBatch(raw)
            finally:
                if not raw.broken:
                    await raw.set_autocommit(False)
        except psycopg.Error as exc:
            if raw.broken:
                await connection.invalidate(exc)
                raise ConnectionLost(str(exc)) from exc
            log.warning("batch statement failed on the driver connection", error=type(exc).__name__)
            raise


class DriverBatch:
    """A batch's read and version-checked write on psycopg's async connection."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    async def read(self, request: BatchRequest) -> BatchSnapshot:
        """The unlocked batch read."""
        cursor = await self.raw.execute(_driver_sql(_READS[False]), read_parameters(request, postgres=True))
        return snapshot(await cursor.fetchall(), request)

    async def write_if_unchanged(self, writes: BatchWrites) -> bool:
        """The one-statement write; False when something the batch read changed meanwhile."""
        import psycopg

        try:
            await self.raw.execute(_driver_sql(_STORE_IF_UNCHANGED), unchanged_parameters(writes))
        except psycopg.Error as exc:
            if self.raw.broken or exc.sqlstate not in CHANGED_MEANWHILE:
                raise
            return False
        return True
