"""Issue 15 item 6: a database writer cannot rewrite the evidence chain without `audit verify` saying so.

The attacker has write access to the database only: not to the signing key
nor to the verifier's copy of the checkpoint file. Each test builds a real
store (cases opened, decided, assigned and held through the case service;
message decisions through the policy engine), signs a checkpoint with
`safeguard audit checkpoint`, copies the checkpoint file and public key to
a verifier, tampers with the database by SQL, and expects
`safeguard audit verify --checkpoint FILE --public-key FILE` to exit 1 and
name the check that failed. Before this defence, `audit verify` answered
"ok" after each of these attacks.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import Table, insert, select, text
from typer.testing import CliRunner, Result

from safeguard.accounts.service import set_connection, upsert_account
from safeguard.cases import service as cases
from safeguard.cases.models import CaseRow
from safeguard.config import Settings, get_settings
from safeguard.core.clock import utcnow
from safeguard.evidence import chain
from safeguard.store.db import dispose_engines, get_sessionmaker, session_scope


@dataclass
class Store:
    """A populated database, the CLI pointed at it, and the verifier's copies of the checkpoint
    file and public key."""

    url: str
    data: Path
    verifier: Path
    case_ids: list[str]

    @property
    def settings(self) -> Settings:
        return get_settings()

    def cli(self, *args: str) -> Result:
        result = CliRunner().invoke(_app(), list(args))
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result

    def checkpoint(self) -> None:
        """Sign a checkpoint (as the service's maintenance task does) and hand it to the verifier."""
        result = self.cli("audit", "checkpoint")
        assert result.exit_code == 0, result.output
        self.verifier.mkdir(exist_ok=True)
        shutil.copy(self.data / "audit-checkpoints.jsonl", self.verifier / "checkpoints.jsonl")
        shutil.copy(self.data / "audit-key.pem.pub", self.verifier / "audit.pub")

    def verify(self, *extra: str) -> Result:
        return self.cli(
            "audit",
            "verify",
            "--checkpoint",
            str(self.verifier / "checkpoints.jsonl"),
            "--public-key",
            str(self.verifier / "audit.pub"),
            *extra,
        )

    def sql(self, statement: str, **params: object) -> None:
        with session_scope(self.url) as session:
            session.execute(text(statement), params)

    def scalar(self, statement: str, **params: object) -> object:
        with session_scope(self.url) as session:
            return session.execute(text(statement), params).scalar()


def decisions_table() -> Table:
    """The message_decisions table from the models, whatever its columns are."""
    from safeguard.policy.models import MessageDecisionRow

    return MessageDecisionRow.__table__  # type: ignore[return-value]


def _app():  # type: ignore[no-untyped-def]
    from safeguard.cli import app

    return app


def _decide_messages(url: str, count: int, conversation: str = "c1") -> None:
    """Message decisions through the policy engine, as the service stores them."""
    from safeguard.policy.engine import MessageEngine, MessageEvent
    from safeguard.text import load_detector

    settings = Settings(database_url=url, detector_embeddings=False)
    engine = MessageEngine(get_sessionmaker(url), load_detector(None, embeddings=False), settings)
    try:
        engine.process_many(
            [
                MessageEvent(conversation, f"{conversation}-m{i}", "adult-1", "how was school", ("child-1",))
                for i in range(count)
            ]
        )
    finally:
        engine.close()


def _populate(url: str, settings: Settings) -> list[str]:
    with session_scope(url) as session:
        upsert_account(session, "adult-1", age_band="adult", settings=settings)
        upsert_account(session, "child-1", age_band="child", settings=settings)
        set_connection(session, "adult-1", "child-1")
    _decide_messages(url, 6)
    ids = []
    with session_scope(url) as session:
        for i, decision in enumerate(("report_ncmec", "dismiss", None)):
            case = cases.open_report(
                session,
                settings,
                reporter_id=f"child-{i}",
                target_type="account",
                target_id=f"adult-{i}",
                reason="platform_move",
            )
            cases.assign(session, settings, case.id, assignee="console:rev", actor="console:admin")
            if decision:
                cases.decide(session, settings, case.id, decision=decision, actor="console:rev")
            ids.append(case.id)
        cases.set_legal_hold(session, settings, ids[0], hold=True, actor="console:admin")
    return ids


@pytest.fixture
def store(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated_settings: None
) -> Iterator[Store]:
    """A store with cases and decisions, one checkpoint signed, and the verifier's copies."""
    monkeypatch.setenv("SAFEGUARD_DATABASE_URL", db_url)
    monkeypatch.setenv("SAFEGUARD_AUDIT__DECISION_GRACE_SECONDS", "0")
    get_settings.cache_clear()
    ids = _populate(db_url, get_settings())
    built = Store(db_url, tmp_path / "data", tmp_path / "verifier", ids)
    built.checkpoint()
    yield built
    dispose_engines()


def _rehash_from(store: Store, first: int) -> None:
    """What a database writer can do without the key: recompute every hash from ``first`` on and
    move the head to the new last record."""
    with session_scope(store.url) as session:
        rows = session.execute(text("SELECT * FROM evidence_records ORDER BY seq")).mappings().all()
        prev = chain.GENESIS
        for row in rows:
            if row["seq"] >= first:
                new = chain.record_hash(prev, SimpleNamespace(**row))  # type: ignore[arg-type]
                session.execute(
                    text("UPDATE evidence_records SET prev_hash = :tmp WHERE seq = :s"),
                    {"tmp": f"moving-{row['seq']}", "s": row["seq"]},
                )
                session.execute(
                    text("UPDATE evidence_records SET prev_hash = :p, hash = :h WHERE seq = :s"),
                    {"p": prev, "h": new, "s": row["seq"]},
                )
                prev = new
            else:
                prev = row["hash"]
        last = rows[-1]["seq"] if rows else 0
        session.execute(text("UPDATE evidence_head SET seq = :s, hash = :h"), {"s": last, "h": prev})


def _failed(result: Result) -> list[str]:
    lines = [line for line in result.output.splitlines() if line.startswith("failed checks: ")]
    return lines[-1].removeprefix("failed checks: ").split(", ") if lines else []


def _assert_tampered(result: Result, check: str) -> None:
    assert result.exit_code == 1, result.output
    assert check in _failed(result), result.output
    assert f"TAMPERED [{check}]" in result.output or check == "chain", result.output


def test_an_untouched_store_verifies(store: Store) -> None:
    result = store.verify()
    assert result.exit_code == 0, result.output
    assert "checked against 1 checkpoints" in result.output
    assert "3 case rows checked" in result.output
    assert "(6 rows) checked against their digests" in result.output


def test_records_dropped_from_the_end_and_the_head_moved_back(store: Store) -> None:
    head = int(store.scalar("SELECT seq FROM evidence_head"))  # type: ignore[arg-type]
    keep = head - 3
    store.sql("DELETE FROM evidence_records WHERE seq > :k", k=keep)
    kept_hash = store.scalar("SELECT hash FROM evidence_records WHERE seq = :k", k=keep)
    store.sql("UPDATE evidence_head SET seq = :k, hash = :h", k=keep, h=kept_hash)
    with session_scope(store.url) as session:
        assert chain.verify(session).ok  # the chain alone cannot tell
    result = store.verify()
    _assert_tampered(result, "truncated")
    assert f"chain ends at record {keep}" in result.output


def test_a_record_edited_and_every_later_hash_recomputed(store: Store) -> None:
    seq = int(store.scalar("SELECT min(seq) FROM evidence_records WHERE action = 'decision'"))  # type: ignore[arg-type]
    forged = chain.canonical({"decision": "dismiss", "note": None})
    store.sql(
        "UPDATE evidence_records SET payload = :p, payload_sha256 = :d WHERE seq = :s",
        p=forged,
        d=hashlib.sha256(forged.encode()).hexdigest(),
        s=seq,
    )
    _rehash_from(store, seq)
    with session_scope(store.url) as session:
        assert chain.verify(session).ok
    result = store.verify()
    _assert_tampered(result, "rewritten")
    head = int(store.scalar("SELECT seq FROM evidence_head"))  # type: ignore[arg-type]
    assert f"record {head} itself is unchanged, so one of records 1..{head - 1} was changed" in result.output


def test_a_record_deleted_and_the_rest_renumbered(store: Store) -> None:
    seq = int(store.scalar("SELECT min(seq) FROM evidence_records WHERE action = 'decision'"))  # type: ignore[arg-type]
    head = int(store.scalar("SELECT seq FROM evidence_head"))  # type: ignore[arg-type]
    store.sql("DELETE FROM evidence_records WHERE seq = :s", s=seq)
    for old in range(seq + 1, head + 1):
        store.sql("UPDATE evidence_records SET seq = :new WHERE seq = :old", new=old - 1, old=old)
    _rehash_from(store, seq)
    with session_scope(store.url) as session:
        assert chain.verify(session).ok
    result = store.verify()
    _assert_tampered(result, "renumbered")
    assert f"that record is now record {head - 1}" in result.output


def test_a_wiped_chain(store: Store) -> None:
    store.sql("DELETE FROM evidence_records")
    store.sql("UPDATE evidence_head SET seq = 0, hash = :h", h=chain.GENESIS)
    result = store.verify()
    _assert_tampered(result, "wiped")
    _assert_tampered(result, "case_row")  # the case rows remain, opened by no record


def test_a_changed_case_decision(store: Store) -> None:
    store.sql("UPDATE cases SET decision = 'dismiss' WHERE id = :c", c=store.case_ids[0])
    result = store.verify()
    _assert_tampered(result, "case_row")
    assert f"case {store.case_ids[0]}: decision is 'dismiss' in the table" in result.output
    assert "'report_ncmec'" in result.output


@pytest.mark.parametrize(
    ("column", "value", "index"),
    [
        ("status", "'open'", 1),
        ("legal_hold", "false", 0),
        ("assignee", "'console:mallory'", 2),
        ("reported_at", "NULL", 0),
    ],
)
def test_a_changed_case_state(store: Store, column: str, value: str, index: int) -> None:
    if store.url.startswith("sqlite") and value in ("false",):
        value = "0"
    store.sql(f"UPDATE cases SET {column} = {value} WHERE id = :c", c=store.case_ids[index])
    result = store.verify()
    _assert_tampered(result, "case_row")
    assert f"case {store.case_ids[index]}: {column} is" in result.output


def test_a_case_row_deleted_or_inserted(store: Store) -> None:
    store.sql("DELETE FROM cases WHERE id = :c", c=store.case_ids[1])
    result = store.verify()
    _assert_tampered(result, "case_row")
    assert f"case {store.case_ids[1]} was opened in the chain" in result.output
    table = CaseRow.__table__
    with session_scope(store.url) as session:
        row = session.execute(select(table).where(table.c.id == store.case_ids[2])).mappings().one()
        session.execute(insert(table).values({**row, "id": "forged-case"}))
    assert "case forged-case is in the cases table but the chain never opened it" in store.verify().output


def _first_decision(store: Store) -> dict:
    table = decisions_table()
    with session_scope(store.url) as session:
        return dict(session.execute(select(table).order_by(table.c.created_at).limit(1)).mappings().one())


def test_a_message_decision_edited(store: Store) -> None:
    row = _first_decision(store)
    store.sql("UPDATE message_decisions SET action = 'block' WHERE message_id = :m", m=row["message_id"])
    result = store.verify()
    _assert_tampered(result, "decisions")
    assert "rows edited" in result.output
    assert "decision_digest record" in result.output


def test_a_message_decision_deleted(store: Store) -> None:
    row = _first_decision(store)
    store.sql("DELETE FROM message_decisions WHERE message_id = :m", m=row["message_id"])
    result = store.verify()
    _assert_tampered(result, "decisions")
    assert "rows deleted (5 rows now, 6 when digested)" in result.output


def test_a_backdated_message_decision_inserted(store: Store) -> None:
    row = _first_decision(store)
    forged = {**row, "message_id": "forged", "action": "allow"}
    with session_scope(store.url) as session:
        session.execute(insert(decisions_table()).values(forged))
    result = store.verify()
    _assert_tampered(result, "decisions")
    assert "rows inserted (7 rows now, 6 when digested)" in result.output


def test_an_altered_checkpoint_fails_its_signature(store: Store) -> None:
    path = store.verifier / "checkpoints.jsonl"
    checkpoint = json.loads(path.read_text())
    checkpoint["seq"] -= 1
    path.write_text(json.dumps(checkpoint) + "\n")
    result = store.verify()
    _assert_tampered(result, "bad_signature")


def test_checkpoints_signed_by_another_key(store: Store, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from safeguard.evidence.keys import public_pem

    other = tmp_path / "other.pub"
    other.write_bytes(public_pem(Ed25519PrivateKey.generate().public_key()))
    result = store.cli(
        "audit",
        "verify",
        "--checkpoint",
        str(store.verifier / "checkpoints.jsonl"),
        "--public-key",
        str(other),
    )
    _assert_tampered(result, "wrong_key")


def test_a_later_checkpoint_of_a_shorter_chain(store: Store) -> None:
    """A checkpoint file where a later head is behind an earlier one (the chain shrank between them)."""
    from safeguard.evidence import keys
    from safeguard.evidence.checkpoints import sign_head

    key = keys.load_signing_key(store.data / "audit-key.pem")
    with session_scope(store.url) as session:
        seq = int(session.execute(text("SELECT seq FROM evidence_head")).scalar())  # type: ignore[arg-type]
        earlier = session.execute(
            text("SELECT hash FROM evidence_records WHERE seq = :s"), {"s": seq - 2}
        ).scalar()
        shorter = sign_head(session, key, (seq - 2, str(earlier)))
    with (store.verifier / "checkpoints.jsonl").open("a") as handle:
        handle.write(json.dumps(shorter.to_dict()) + "\n")
    result = store.verify()
    _assert_tampered(result, "checkpoint_order")


def test_the_service_refuses_to_sign_a_truncated_chain(store: Store) -> None:
    head = int(store.scalar("SELECT seq FROM evidence_head"))  # type: ignore[arg-type]
    store.sql("DELETE FROM evidence_records WHERE seq = :s", s=head)
    kept = store.scalar("SELECT hash FROM evidence_records WHERE seq = :s", s=head - 1)
    store.sql("UPDATE evidence_head SET seq = :s, hash = :h", s=head - 1, h=kept)
    before = (store.data / "audit-checkpoints.jsonl").read_text()
    result = store.cli("audit", "checkpoint")
    assert result.exit_code == 1, result.output
    assert "REFUSED" in result.output
    assert f"the head is record {head - 1} but the last checkpoint signed record {head}" in result.output
    assert int(store.scalar("SELECT seq FROM evidence_head")) == head - 1  # nothing appended  # type: ignore[arg-type]
    assert (store.data / "audit-checkpoints.jsonl").read_text() == before


def test_bad_checkpoint_files_are_usage_errors(store: Store, tmp_path: Path) -> None:
    broken = tmp_path / "broken.jsonl"
    good = (store.verifier / "checkpoints.jsonl").read_text()
    broken.write_text(good + "{not json\n")
    result = store.cli(
        "audit", "verify", "--checkpoint", str(broken), "--public-key", str(store.verifier / "audit.pub")
    )
    assert result.exit_code == 2, result.output
    assert f"{broken}, line 2: not JSON" in result.output
    missing = tmp_path / "absent.jsonl"
    result = store.cli("audit", "verify", "--checkpoint", str(missing))
    assert result.exit_code == 2
    assert f"{missing}: checkpoint file not found" in result.output
    wrong = json.loads(good)
    wrong["seq"] = "seven"
    broken.write_text(json.dumps(wrong) + "\n")
    result = store.cli(
        "audit", "verify", "--checkpoint", str(broken), "--public-key", str(store.verifier / "audit.pub")
    )
    assert result.exit_code == 2
    assert "line 1, field 'seq'" in result.output
    result = store.cli(
        "audit",
        "verify",
        "--checkpoint",
        str(store.verifier / "checkpoints.jsonl"),
        "--public-key",
        str(missing),
    )
    assert result.exit_code == 2
    assert f"{missing}: cannot read the public key" in result.output


def test_retention_purges_are_not_tampering(store: Store) -> None:
    """Decisions and case evidence past retention are purged and the purges recorded: verify
    accounts for both, and a decision slipped back into a purged range is still caught."""
    from contextlib import nullcontext

    from safeguard.service.maintenance import Maintenance

    _decide_messages(store.url, 3, conversation="c2")
    store.checkpoint()
    purged_row = _first_decision(store)
    maintenance = Maintenance(get_sessionmaker(store.url), store.settings, writer=nullcontext)
    counts = maintenance.run_once(now=utcnow() + timedelta(days=400))
    assert counts["message_decisions"] == 9
    assert int(store.scalar("SELECT count(*) FROM message_decisions")) == 0  # type: ignore[arg-type]
    purge = store.cli("cases", "purge", "--days", "0")
    assert json.loads(purge.output)["case_ids"] == [store.case_ids[1]]  # [0] is held, [2] is open
    store.checkpoint()
    result = store.verify()
    assert result.exit_code == 0, result.output
    with session_scope(store.url) as session:
        session.execute(insert(decisions_table()).values(purged_row))
    result = store.verify()
    _assert_tampered(result, "decisions")
    assert "rows inserted after the purge" in result.output


def test_plain_verify_checks_the_cases_table(
    db_url: str, monkeypatch: pytest.MonkeyPatch, isolated_settings: None
) -> None:
    """Without any checkpoint, `audit verify` still holds each case row to the chain (it used to
    answer "ok" after `UPDATE cases SET decision = 'dismiss'`)."""
    monkeypatch.setenv("SAFEGUARD_DATABASE_URL", db_url)
    get_settings.cache_clear()
    ids = _populate(db_url, get_settings())
    with session_scope(db_url) as session:
        session.execute(text("UPDATE cases SET decision = 'dismiss' WHERE id = :c"), {"c": ids[0]})
    result = CliRunner().invoke(_app(), ["audit", "verify"])
    assert result.exit_code == 1, result.output
    assert f"case {ids[0]}: decision is 'dismiss' in the table" in result.output
    dispose_engines()
