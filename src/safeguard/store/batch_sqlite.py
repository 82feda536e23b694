"""The batch read and writes on SQLite (one writer at a time: the engine holds the file lock)."""

from __future__ import annotations

from sqlalchemy import literal_column, select, union_all
from sqlalchemy.engine import URL, Connection

from safeguard.store.batch import (
    CONVERSATION_UPDATES,
    CONVERSATIONS,
    DECISIONS,
    BatchRequest,
    BatchSnapshot,
    BatchWrites,
    add_signals,
    insert_contacts,
    read_parameters,
    read_statement,
    snapshot,
    stored_keys,
)
from safeguard.store.db import WriterLock
from safeguard.store.sql import in_list, list_values, upsert_statement

_READ = read_statement(postgres=False, lock=False)
# The optimistic check: decisions stored and conversation versions written since a batch was read.
_CHANGED_SINCE_READ = union_all(
    select(literal_column("'d'"), DECISIONS.c.message_id, DECISIONS.c.conversation_id).where(
        stored_keys(postgres=False)
    ),
    select(literal_column("'v'"), CONVERSATIONS.c.id, CONVERSATIONS.c.version).where(
        in_list((CONVERSATIONS.c.id,), "conversations", postgres=False)
    ),
)


class SqliteBatchStore:
    """SQLite: no row locks (the engine's writer lock serialises writers); the optimistic
    check runs under that lock, before the write, in the same transaction."""

    dialect = "sqlite"
    one_writer = True
    autocommit_reads = False
    writers = 1
    on_loop = False

    def writer_lock(self, url: URL) -> WriterLock:
        """A file lock next to the database file (shared by every process)."""
        return WriterLock(url.database)

    def read(self, connection: Connection, request: BatchRequest, *, lock: bool) -> BatchSnapshot:
        """One ``UNION ALL`` read; ``lock`` changes nothing (the writer lock is the engine's)."""
        rows = connection.execute(_READ, read_parameters(request, postgres=False)).all()
        return snapshot(rows, request)

    def write(self, connection: Connection, writes: BatchWrites) -> None:
        """Account inputs, decisions, then conversation rows (upserted in id order)."""
        insert_contacts(connection, writes.contacts, writes.at)
        add_signals(connection, writes.signals, writes.at)
        if writes.decisions:
            connection.execute(DECISIONS.insert(), writes.decisions)
        if writes.conversations:
            stmt = upsert_statement(
                connection,
                CONVERSATIONS,
                ["id"],
                lambda s: {c: s.excluded[c] for c in CONVERSATION_UPDATES},
            )
            connection.execute(stmt, writes.conversations)

    def write_if_unchanged(
        self, connection: Connection, writes: BatchWrites, versions: dict[str, int | None]
    ) -> bool:
        """Check, then write, in the caller's transaction (held under the writer lock)."""
        changed = connection.execute(
            _CHANGED_SINCE_READ,
            {
                **list_values("ids", (d["message_id"] for d in writes.decisions), postgres=False),
                **list_values("conversations", versions, postgres=False),
            },
        )
        ours = {(d["conversation_id"], d["message_id"]) for d in writes.decisions}
        current: dict[str, int | None] = {}
        for kind, key, value in changed:
            if kind == "d":
                if (value, key) in ours:  # decided elsewhere meanwhile: the locked path replays it
                    return False
                continue
            current[key] = value
        if any(current.get(cid) != version for cid, version in versions.items()):
            return False
        self.write(connection, writes)
        return True
