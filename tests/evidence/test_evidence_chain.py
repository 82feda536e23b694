"""The evidence chain: intact chains verify; any change, deletion or reordering is named."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from safeguard.evidence import chain
from safeguard.store.db import session_scope


def _fill(url: str, n: int = 6) -> None:
    with session_scope(url) as session:
        for i in range(n):
            chain.append(
                session,
                kind="evidence" if i % 2 == 0 else "audit",
                action="note" if i % 2 == 0 else "view_case",
                actor="console:rev",
                case_id="case-1",
                payload={"i": i, "excerpt": "add me on snap"},
            )


def _verify(url: str) -> chain.VerifyResult:
    with session_scope(url) as session:
        return chain.verify(session)


def _sql(url: str, statement: str, **params: object) -> None:
    with session_scope(url) as session:
        session.execute(text(statement), params)


def test_intact_chain_verifies(db_url: str) -> None:
    _fill(db_url)
    result = _verify(db_url)
    assert result.ok, result.describe()
    assert result.records == 6
    assert result.head_seq == 6


def test_each_record_links_to_the_previous(sqlite_url: str) -> None:
    _fill(sqlite_url, 3)
    with session_scope(sqlite_url) as session:
        rows = session.execute(text("SELECT seq, prev_hash, hash FROM evidence_records ORDER BY seq")).all()
    assert rows[0].prev_hash == chain.GENESIS
    assert rows[1].prev_hash == rows[0].hash
    assert rows[2].prev_hash == rows[1].hash


def test_empty_chain_verifies(sqlite_url: str) -> None:
    assert _verify(sqlite_url).ok


def test_changed_payload_is_found(db_url: str) -> None:
    _fill(db_url)
    _sql(db_url, "UPDATE evidence_records SET payload = :p WHERE seq = 3", p='{"i":2,"excerpt":"changed"}')
    result = _verify(db_url)
    assert not result.ok
    assert result.first_bad_seq == 3
    assert "payload" in result.problem


def test_changed_field_is_found(sqlite_url: str) -> None:
    _fill(sqlite_url)
    _sql(sqlite_url, "UPDATE evidence_records SET actor = 'console:someone-else' WHERE seq = 4")
    result = _verify(sqlite_url)
    assert (result.ok, result.first_bad_seq) == (False, 4)
    assert "changed" in result.problem


def test_payload_and_digest_changed_together_is_found(sqlite_url: str) -> None:
    import hashlib

    _fill(sqlite_url)
    forged = '{"i":2,"excerpt":"forged"}'
    _sql(
        sqlite_url,
        "UPDATE evidence_records SET payload = :p, payload_sha256 = :d WHERE seq = 3",
        p=forged,
        d=hashlib.sha256(forged.encode()).hexdigest(),
    )
    result = _verify(sqlite_url)
    assert (result.ok, result.first_bad_seq) == (False, 3)


def test_deleted_record_is_found(db_url: str) -> None:
    _fill(db_url)
    _sql(db_url, "DELETE FROM evidence_records WHERE seq = 2")
    result = _verify(db_url)
    assert not result.ok
    assert result.first_bad_seq == 3
    assert "record 2 is missing" in result.problem


def test_deleted_and_renumbered_record_is_found(sqlite_url: str) -> None:
    _fill(sqlite_url)
    _sql(sqlite_url, "DELETE FROM evidence_records WHERE seq = 2")
    for seq in range(3, 7):
        _sql(sqlite_url, "UPDATE evidence_records SET seq = :new WHERE seq = :old", new=seq - 1, old=seq)
    _sql(sqlite_url, "UPDATE evidence_head SET seq = 5")
    result = _verify(sqlite_url)
    assert (result.ok, result.first_bad_seq) == (False, 2)


def test_deleted_last_record_is_found(sqlite_url: str) -> None:
    _fill(sqlite_url)
    _sql(sqlite_url, "DELETE FROM evidence_records WHERE seq = 6")
    result = _verify(sqlite_url)
    assert (result.ok, result.first_bad_seq) == (False, 6)
    assert "removed from the end" in result.problem


def test_reordered_records_are_found(db_url: str) -> None:
    _fill(db_url)
    _sql(db_url, "UPDATE evidence_records SET seq = 100 WHERE seq = 3")
    _sql(db_url, "UPDATE evidence_records SET seq = 3 WHERE seq = 4")
    _sql(db_url, "UPDATE evidence_records SET seq = 4 WHERE seq = 100")
    result = _verify(db_url)
    assert not result.ok
    assert result.first_bad_seq == 3
    assert "link" in result.problem


def test_payload_erased_without_purge_record_is_found(sqlite_url: str) -> None:
    _fill(sqlite_url)
    _sql(sqlite_url, "UPDATE evidence_records SET payload = NULL, purged = :t WHERE seq = 5", t=True)
    result = _verify(sqlite_url)
    assert (result.ok, result.first_bad_seq) == (False, 5)
    assert "without a purge record" in result.problem


def test_unknown_kind_is_refused(sqlite_url: str) -> None:
    with session_scope(sqlite_url) as session, pytest.raises(ValueError):
        chain.append(session, kind="other", action="x", actor="a", payload={})


def test_concurrent_writers_form_one_chain(db_url: str) -> None:
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(10):
                with session_scope(db_url) as session:
                    chain.append(session, kind="audit", action="view_case", actor=f"w{n}", payload={"i": i})
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    result = _verify(db_url)
    assert result.ok, result.describe()
    assert result.records == 30
