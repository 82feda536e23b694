"""SQL helpers every capability uses, so no package outside ``store`` branches on the dialect.

- :func:`insert_for` and :func:`upsert_statement`: ``INSERT ... ON CONFLICT`` for SQLite
  and PostgreSQL;
- :func:`in_list` and :func:`list_values`: ``IN`` over a batch's ids as one parameter;
- :func:`json_array_contains` and :func:`hours_between`: expressions compiled per dialect
  (the case queue filters and ranks with them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import Float, String, and_, any_, bindparam, cast, func, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement, FunctionElement

from safeguard.store.db import json_text, pg_array


def dialect_of(bind: Session | Connection) -> str:
    """The dialect name (``sqlite``, ``postgresql``) of a session's or connection's database."""
    return bind.dialect.name if isinstance(bind, Connection) else bind.get_bind().dialect.name


def insert_for(bind: Session | Connection, table: Any) -> Any:
    """A dialect-specific INSERT into ``table`` that supports ON CONFLICT."""
    return (postgresql.insert if dialect_of(bind) == "postgresql" else sqlite.insert)(table)


_upserts: dict[tuple[str, str], Any] = {}


def upsert_statement(
    bind: Session | Connection, table: Any, keys: list[str], set_: Callable[[Any], dict]
) -> Any:
    """``INSERT ... ON CONFLICT (keys) DO UPDATE SET set_(stmt)`` for ``table``, built once per dialect.

    ``set_`` receives the statement (for ``stmt.excluded``) and returns the
    columns to update; hot-path upserts are reused rather than rebuilt per call.
    """
    cache_key = (dialect_of(bind), table.name)
    stmt = _upserts.get(cache_key)
    if stmt is None:
        insert = insert_for(bind, table)
        stmt = _upserts[cache_key] = insert.on_conflict_do_update(index_elements=keys, set_=set_(insert))
    return stmt


def bytewise(column: Any, bind: Session | Connection) -> Any:
    """``column`` compared by its bytes, for an order every database agrees on
    (PostgreSQL: ``COLLATE "C"``; SQLite compares text bytewise already)."""
    return column.collate("C") if dialect_of(bind) == "postgresql" else column


def in_list(columns: tuple[Any, ...], name: str, postgres: bool) -> Any:
    """``columns IN (:name)``, in the form each database handles best for a batch.

    The list is one parameter, so the statement's text never changes with
    the batch: SQLAlchemy renders it once, and psycopg prepares it once
    instead of the server parsing and planning it for every batch. SQLite
    reads it as a JSON array (``IN (SELECT value FROM json_each(:name))``);
    PostgreSQL as a text array (``= ANY(:name)``, or ``IN (SELECT
    unnest(:name_0), ...)`` for several columns), sent as an array literal
    (:func:`~safeguard.store.db.pg_array`). For several columns on SQLite the
    first one's values come too: SQLite answers a row-value ``IN`` by
    scanning the whole table, but looks a single column's ``IN`` up in the
    index that column leads. Fill it with :func:`list_values`.
    """
    if not postgres:
        listed = func.json_each(bindparam(name, type_=String)).table_valued("value")
        if len(columns) == 1:
            return columns[0].in_(select(listed.c.value))
        lead = func.json_each(bindparam(f"{name}_lead", type_=String)).table_valued("value")
        items = [func.json_extract(listed.c.value, f"$[{i}]") for i in range(len(columns))]
        return and_(columns[0].in_(select(lead.c.value)), tuple_(*columns).in_(select(*items)))
    text_array = postgresql.ARRAY(String)

    def array(parameter: str) -> Any:
        return cast(bindparam(parameter, type_=String), text_array)

    if len(columns) == 1:
        return columns[0] == any_(array(name))
    return tuple_(*columns).in_(select(*[func.unnest(array(f"{name}_{i}")) for i in range(len(columns))]))


def list_values(name: str, values: Iterable[Any], postgres: bool, width: int = 1) -> dict[str, str]:
    """Parameters of an :func:`in_list` clause holding ``values``: strings, or tuples of
    ``width`` strings."""
    items = sorted(set(values))
    if not postgres:
        if width == 1:
            return {name: json_text(items)}
        return {name: json_text(items), f"{name}_lead": json_text(sorted({item[0] for item in items}))}
    if width == 1:
        return {name: pg_array(items)}
    return {f"{name}_{i}": pg_array(item[i] for item in items) for i in range(width)}


class json_array_contains(FunctionElement[bool]):
    """True when the JSON array in ``column`` holds the string ``value``."""

    inherit_cache = True
    type = postgresql.BOOLEAN()


@compiles(json_array_contains, "sqlite")
def _json_contains_sqlite(element: json_array_contains, compiler: Any, **kw: Any) -> str:
    column, value = list(element.clauses)
    return (
        f"EXISTS (SELECT 1 FROM json_each({compiler.process(column, **kw)}) "
        f"WHERE json_each.value = {compiler.process(value, **kw)})"
    )


@compiles(json_array_contains, "postgresql")
def _json_contains_postgresql(element: json_array_contains, compiler: Any, **kw: Any) -> str:
    column, value = list(element.clauses)
    return (
        f"EXISTS (SELECT 1 FROM json_array_elements_text({compiler.process(column, **kw)}) AS item "
        f"WHERE item = {compiler.process(value, **kw)})"
    )


class hours_between(FunctionElement[float]):
    """``(later - earlier)`` in hours, as a float (two timestamp expressions)."""

    inherit_cache = True
    type = Float()


@compiles(hours_between, "sqlite")
def _hours_sqlite(element: hours_between, compiler: Any, **kw: Any) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"((julianday({later}) - julianday({earlier})) * 24.0)"


@compiles(hours_between, "postgresql")
def _hours_postgresql(element: hours_between, compiler: Any, **kw: Any) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"(CAST(EXTRACT(EPOCH FROM ({later} - {earlier})) AS DOUBLE PRECISION) / 3600.0)"


def power(base: Any, exponent: ColumnElement[Any]) -> ColumnElement[float]:
    """``base ** exponent`` in SQL (SQLite's math functions, PostgreSQL's ``power``)."""
    return func.power(cast(base, Float), cast(exponent, Float))


class rounded(FunctionElement[float]):
    """``round(value, digits)`` on a float (PostgreSQL rounds only numerics to digits)."""

    inherit_cache = True
    type = Float()


@compiles(rounded, "sqlite")
def _rounded_sqlite(element: rounded, compiler: Any, **kw: Any) -> str:
    value, digits = (compiler.process(c, **kw) for c in element.clauses)
    return f"round({value}, {digits})"


@compiles(rounded, "postgresql")
def _rounded_postgresql(element: rounded, compiler: Any, **kw: Any) -> str:
    value, digits = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(round(CAST({value} AS NUMERIC), {digits}) AS DOUBLE PRECISION)"
