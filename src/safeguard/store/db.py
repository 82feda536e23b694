"""Database engine and sessions: SQLite by default, PostgreSQL when configured.

The schema is owned by Alembic migrations (``store/migrations``); the first
command run against an empty database upgrades it to the newest revision.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import orjson
from sqlalchemy import URL, Engine, create_engine, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from safeguard.config import get_settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


class Base(DeclarativeBase):
    """Declarative base for every table of every capability."""


_engines: dict[str, Engine] = {}
_factories: dict[str, sessionmaker[Session]] = {}
_lock = threading.Lock()


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def pg_array(values: Iterable[object]) -> str:
    """``values`` as a PostgreSQL array literal (``{"a","b",NULL}``), for a parameter cast
    to an array type: strings, numbers, datetimes and None.

    psycopg can send Python lists itself, but its array dumper escapes each
    element in Python (about 14 us per array of four short strings here); a
    batch sends about 25 arrays, and this costs a fifth of that.
    """
    return "{" + ",".join(_pg_array_element(v) for v in values) + "}"


def _pg_array_element(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, datetime):
        value = value.isoformat()
    elif not isinstance(value, str):
        return repr(value) if isinstance(value, float) else str(value)
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def json_text(value: object) -> str:
    """``value`` as JSON text, as the store writes JSON columns (orjson; non-string keys allowed)."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def normalise_database_url(url: str) -> str:
    """Accept ``postgresql://`` as shorthand for the psycopg 3 driver."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def get_engine(url: str | None = None, *, migrate: bool = True) -> Engine:
    """The engine for ``url`` (default: from settings), migrated on first use."""
    url = normalise_database_url(url or get_settings().resolved_database_url())
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            # JSON columns (conversation states, decisions) go through orjson: several
            # times faster than the standard library on the per-message path.
            json_options = {"json_serializer": json_text, "json_deserializer": orjson.loads}
            if url.startswith("sqlite"):
                engine = create_engine(url, connect_args={"check_same_thread": False}, **json_options)
                event.listen(engine, "connect", _sqlite_pragmas)
            else:
                engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, **json_options)
            if migrate:
                upgrade(engine)
            _engines[url] = engine
    return engine


def create_loop_engine(
    url: URL | str, pool_size: int, *, plan_cache_mode: str = "force_generic_plan"
) -> AsyncEngine:
    """An asyncio engine (async psycopg) on PostgreSQL ``url``, for work run on an event loop.

    No pre-ping: callers retry a transaction that finds its connection gone
    (:func:`is_disconnect`), which saves a round trip per checkout.

    Prepared statements keep one generic plan (``plan_cache_mode``): the
    message batch read, a union of eight lookups by array parameter, was
    otherwise planned again on every execution (about a third of the
    server's CPU per batch); its generic plan uses the same index lookups
    (tests/policy/test_policy_batch_plans.py checks it).
    """
    from sqlalchemy.ext.asyncio import create_async_engine

    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=0,
        json_serializer=json_text,
        json_deserializer=orjson.loads,
        connect_args={"options": f"-c plan_cache_mode={plan_cache_mode}"},
    )


class ConnectionLost(Exception):
    """The database connection went away under a statement sent on the driver's own
    connection (the pool has been told to drop it)."""


def is_disconnect(error: BaseException) -> bool:
    """True when ``error`` is the database connection going away (server restart, network).

    The pool has dropped the connection; the transaction is rolled back, or
    committed if the loss came during ``COMMIT``: retry only idempotent work.
    """
    if isinstance(error, ConnectionLost):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


def upgrade(engine: Engine) -> None:
    """Run Alembic migrations up to every head on ``engine`` (one branch per capability)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            # Two processes starting at once must not both create the schema.
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(72657301)")
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")


def dispose_engines() -> None:
    """Close every cached engine (tests, and after fork)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
        _factories.clear()


class WriterLock:
    """Serialises write transactions on one SQLite file across threads and processes.

    SQLite's busy handler waits for a competing writer by sleeping (1, 2, 5, 10
    ... 100 ms), which turns contention between server processes into latency
    spikes. An ``flock`` on a file next to the database blocks in the kernel
    and wakes the next writer as soon as the lock is released. Re-entrant per
    thread; a no-op lock for in-memory databases (one process only).
    """

    def __init__(self, database: str | None) -> None:
        self._thread_lock = threading.RLock()
        self._depth = 0
        self._fd: int | None = None
        self.path = f"{database}.writer-lock" if database and database != ":memory:" else None

    def try_acquire(self) -> bool:
        """Take the lock if no other thread or process holds it; never waits."""
        if not self._thread_lock.acquire(blocking=False):
            return False
        if self._depth == 0 and self.path is not None:
            if self._fd is None:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                self._thread_lock.release()
                return False
        self._depth += 1
        return True

    def release(self) -> None:
        """Release a lock taken with :meth:`try_acquire`."""
        self._depth -= 1
        if self._depth == 0 and self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._thread_lock.release()

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Hold the write lock for the ``with`` block."""
        with self._thread_lock:
            if self._depth == 0 and self.path is not None:
                if self._fd is None:
                    self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
                fcntl.flock(self._fd, fcntl.LOCK_EX)
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0 and self._fd is not None:
                    fcntl.flock(self._fd, fcntl.LOCK_UN)


def is_sqlite(engine: Engine) -> bool:
    """True when ``engine`` talks to SQLite (single writer, in-process locking)."""
    return engine.dialect.name == "sqlite"


def get_sessionmaker(url: str | None = None) -> sessionmaker[Session]:
    """A cached session factory for ``url`` (default: from settings)."""
    key = normalise_database_url(url or get_settings().resolved_database_url())
    factory = _factories.get(key)
    if factory is None:
        factory = sessionmaker(bind=get_engine(key), expire_on_commit=False)
        _factories[key] = factory
    return factory


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    session = get_sessionmaker(url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
