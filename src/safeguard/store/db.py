"""Database engine and sessions: SQLite by default, PostgreSQL when configured.

The schema is owned by Alembic migrations (``store/migrations``); the first
command run against an empty database upgrades it to the newest revision.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from safeguard.config import get_settings

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


def normalise_url(url: str) -> str:
    """Accept ``postgresql://`` as shorthand for the psycopg 3 driver."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def get_engine(url: str | None = None, *, migrate: bool = True) -> Engine:
    """The engine for ``url`` (default: from settings), migrated on first use."""
    url = normalise_url(url or get_settings().resolved_database_url())
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            if url.startswith("sqlite"):
                engine = create_engine(url, connect_args={"check_same_thread": False})
                event.listen(engine, "connect", _sqlite_pragmas)
            else:
                engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
            if migrate:
                upgrade(engine)
            _engines[url] = engine
    return engine


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


def is_sqlite(engine: Engine) -> bool:
    """True when ``engine`` talks to SQLite (single writer, in-process locking)."""
    return engine.dialect.name == "sqlite"


def get_sessionmaker(url: str | None = None) -> sessionmaker[Session]:
    """A cached session factory for ``url`` (default: from settings)."""
    key = normalise_url(url or get_settings().resolved_database_url())
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
