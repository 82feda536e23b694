"""``pg_array``: array literals PostgreSQL reads back as exactly the values sent (fuzzed)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safeguard.store.db import pg_array

# PostgreSQL text cannot hold NUL; everything else must survive, quotes,
# backslashes, braces, commas, blanks, "NULL" and non-ASCII included.
TEXT = st.text(alphabet=st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), max_size=40)


AWKWARD = ["NULL", "", " ", '"', "\\", "{}", ",", "a b", "\\N"]


@pytest.fixture(scope="module")
def pg(pg_cluster) -> Iterator[object]:  # type: ignore[no-untyped-def]
    import psycopg

    url = pg_cluster.fresh_database(template=None).replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as connection:
        yield connection


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.one_of(st.none(), TEXT, st.sampled_from(AWKWARD)), max_size=8))
def test_text_arrays_round_trip(pg, values: list[str | None]) -> None:  # type: ignore[no-untyped-def]
    (back,) = pg.execute("SELECT CAST(%s AS VARCHAR[])", [pg_array(values)]).fetchone()
    assert back == values


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.one_of(st.none(), st.floats(allow_nan=True)), max_size=6))
def test_float_arrays_round_trip(pg, values: list[float | None]) -> None:  # type: ignore[no-untyped-def]
    (back,) = pg.execute("SELECT CAST(%s AS FLOAT8[])", [pg_array(values)]).fetchone()
    assert len(back) == len(values)
    for sent, got in zip(values, back, strict=True):
        assert (sent is None and got is None) or (math.isnan(sent) and math.isnan(got)) or sent == got


def test_integer_and_timestamp_arrays_round_trip(pg) -> None:  # type: ignore[no-untyped-def]
    moments = [datetime(2026, 11, 29, 16, 0, 0, 123456, tzinfo=UTC), None, datetime(1999, 1, 1, tzinfo=UTC)]
    (back,) = pg.execute("SELECT CAST(%s AS TIMESTAMPTZ[])", [pg_array(moments)]).fetchone()
    assert back == moments
    (numbers,) = pg.execute("SELECT CAST(%s AS INTEGER[])", [pg_array([0, -7, None, 2**31 - 1])]).fetchone()
    assert numbers == [0, -7, None, 2**31 - 1]
    (empty,) = pg.execute("SELECT CAST(%s AS VARCHAR[])", [pg_array([])]).fetchone()
    assert empty == []
