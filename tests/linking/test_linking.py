"""Script linking: near-duplicate threat scripts link senders and reach account risk (issue 19)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import inspect, select

from safeguard.accounts.service import cached_account_risk, upsert_account
from safeguard.config import Settings
from safeguard.core.clock import utcnow
from safeguard.linking.fingerprint import fingerprint, similarity
from safeguard.linking.models import ScriptBandRow, ScriptFingerprintRow
from safeguard.linking.service import linked_accounts, purge_older_than, record_message
from safeguard.policy.engine import MessageEngine, MessageEvent
from safeguard.store.db import dispose_engines, get_engine, get_sessionmaker, session_scope
from safeguard.text import load_detector

SCRIPT = (
    "i have your pics, send me {amount} dollars in gift cards "
    "or i will send them to all your followers {name}"
)
NAMES = ["emma", "liam", "noah", "ava"]
AMOUNTS = ["200", "300", "150", "500"]


def _variant(i: int) -> str:
    return SCRIPT.format(amount=AMOUNTS[i], name=NAMES[i])


def test_near_duplicates_are_similar_and_unrelated_texts_are_not() -> None:
    a, b = fingerprint(_variant(0)), fingerprint(_variant(1) + " !!")
    other = fingerprint("are you coming to the football match on saturday with your brother")
    assert a and b and other
    assert similarity(a.signature, b.signature) >= 0.6
    assert set(a.band_keys) & set(b.band_keys)
    assert similarity(a.signature, other.signature) < 0.2
    assert len(a.band_keys) == 16 and len(a.signature) == 128 * 4
    assert fingerprint("hi there") is None


@pytest.fixture
def url(db_url: str) -> Iterator[str]:
    yield db_url
    dispose_engines()


def test_record_counts_children_across_linked_senders(url: str) -> None:
    with session_scope(url) as session:
        for i in range(3):
            result = record_message(
                session, sender_id="s1", recipient_ids=[f"k{i}"], conversation_id=f"c{i}", text=_variant(i)
            )
        assert result.children == 3 and result.linked_accounts == []
        result = record_message(
            session, sender_id="s2", recipient_ids=["k9"], conversation_id="c9", text=_variant(3)
        )
        assert result.children >= 3 and result.linked_accounts == ["s1"]
        record_message(
            session,
            sender_id="s3",
            recipient_ids=["k8"],
            conversation_id="c8",
            text="we should meet at the library after class to study for the maths test",
        )
    with session_scope(url) as session:
        assert linked_accounts(session, "s1") == ["s2"]
        assert linked_accounts(session, "s2") == ["s1"]
        assert linked_accounts(session, "s3") == []


def test_purge_removes_fingerprints_and_bands(url: str) -> None:
    with session_scope(url) as session:
        record_message(
            session,
            sender_id="s1",
            recipient_ids=["k1"],
            conversation_id="c1",
            text=_variant(0),
            at=utcnow() - timedelta(days=40),
        )
        record_message(session, sender_id="s1", recipient_ids=["k2"], conversation_id="c2", text=_variant(1))
    with session_scope(url) as session:
        assert purge_older_than(session, utcnow() - timedelta(days=30)) == 1
    with session_scope(url) as session:
        rows = session.scalars(select(ScriptFingerprintRow)).all()
        assert [r.recipient_id for r in rows] == ["k2"]
        assert {b.fingerprint_id for b in session.scalars(select(ScriptBandRow))} == {rows[0].id}


def test_the_engine_links_one_script_to_four_children_and_stores_no_text(url: str) -> None:
    settings = Settings(database_url=url, detector_embeddings=False)
    with session_scope(url) as session:
        for account, band in [("adult-1", "adult"), ("adult-2", "adult")] + [
            (f"child-{i}", "child") for i in range(5)
        ]:
            upsert_account(session, account, age_band=band, settings=settings)
    engine = MessageEngine(get_sessionmaker(url), load_detector(None, embeddings=False), settings)
    events = [MessageEvent(f"x{i}", "m1", "adult-1", _variant(i), (f"child-{i}",)) for i in range(4)]
    events.append(
        MessageEvent("y1", "m1", "adult-2", "how was school today, did you finish the project", ("child-4",))
    )
    for event in events:
        engine.process_many([event])
    with session_scope(url) as session:
        reasons = {r.code: r.detail for r in cached_account_risk(session, "adult-1").reasons}
        assert reasons["same_script"] == "same script sent to 4 children in 24 h"
        assert "same_script" not in {r.code for r in cached_account_risk(session, "adult-2").reasons}
        assert linked_accounts(session, "adult-2") == []
        senders = {r.sender_id for r in session.scalars(select(ScriptFingerprintRow))}
        assert senders == {"adult-1"}
        stored = [repr(r.__dict__) for r in session.scalars(select(ScriptFingerprintRow))]
        assert not any("gift" in s or "followers" in s for s in stored)
    columns = {c["name"] for c in inspect(get_engine(url)).get_columns("script_fingerprints")}
    assert columns == {"id", "sender_id", "recipient_id", "conversation_id", "at", "signature"}
