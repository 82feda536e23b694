"""Coverage of the tables by the chain: decision digests (ranges, purges, schema changes) and
case state (new and legacy records, retention refusing a row that disagrees)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, insert, select, text, update

from safeguard.accounts.service import set_connection, upsert_account
from safeguard.cases import service as cases
from safeguard.cases.models import CaseRow
from safeguard.config import Settings
from safeguard.core.clock import utcnow
from safeguard.evidence import chain
from safeguard.evidence.audit import audit
from safeguard.evidence.decision_digest import DIGEST_ACTION, decisions_table, digest_payload, digest_range
from safeguard.evidence.decision_sealing import append_digests, plan_digests
from safeguard.evidence.retention import purge
from safeguard.service.maintenance import Maintenance
from safeguard.store.db import get_sessionmaker, session_scope

T0 = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def _settings(url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=url, data_dir=tmp_path / "data", detector_embeddings=False)


def _template(url: str, settings: Settings) -> dict:
    """One decision row as the engine stores it (then removed), to clone with other ids and times."""
    from safeguard.policy.engine import MessageEngine, MessageEvent
    from safeguard.text import load_detector

    with session_scope(url) as session:
        upsert_account(session, "adult-1", age_band="adult", settings=settings)
        upsert_account(session, "child-1", age_band="child", settings=settings)
        set_connection(session, "adult-1", "child-1")
    engine = MessageEngine(get_sessionmaker(url), load_detector(None, embeddings=False), settings)
    try:
        engine.process_many([MessageEvent("c1", "template", "adult-1", "how was school", ("child-1",))])
    finally:
        engine.close()
    table = decisions_table()
    with session_scope(url) as session:
        row = dict(session.execute(select(table)).mappings().one())
        session.execute(delete(table))
    return row


def _rows(template: dict, times: list[datetime]) -> list[dict]:
    return [{**template, "message_id": f"m{i}", "created_at": at} for i, at in enumerate(times)]


def _insert(url: str, rows: list[dict]) -> None:
    with session_scope(url) as session:
        session.execute(insert(decisions_table()), rows)


def _seal(url: str, settings: Settings, now: datetime) -> list[dict]:
    with session_scope(url) as session:
        after, payloads = plan_digests(session, settings, now)
        append_digests(session, after, payloads, "test")
    return payloads


def _audit(url: str):  # type: ignore[no-untyped-def]
    with session_scope(url) as session:
        return audit(session)


@pytest.fixture
def decisions(sqlite_url: str, tmp_path: Path) -> Iterator[tuple[str, Settings, dict]]:
    settings = _settings(sqlite_url, tmp_path)
    yield sqlite_url, settings, _template(sqlite_url, settings)


def test_a_backlog_is_split_into_windows_and_an_idle_tail_waits(
    decisions: tuple[str, Settings, dict],
) -> None:
    url, settings, template = decisions
    _insert(url, _rows(template, [T0, T0 + timedelta(minutes=10), T0 + timedelta(hours=2, minutes=30)]))
    payloads = _seal(url, settings, T0 + timedelta(hours=3))
    bounds = [(p["from"], p["to"], p["rows"]) for p in payloads]
    hour, later = T0 + timedelta(hours=1), T0 + timedelta(hours=2, minutes=30)
    cutoff = T0 + timedelta(hours=3) - timedelta(seconds=60)
    assert bounds == [
        (None, _iso(hour), 2),
        (_iso(hour), _iso(later), 0),  # an empty stretch is one record, up to the next row
        (_iso(later), _iso(cutoff), 1),
    ]
    assert _seal(url, settings, T0 + timedelta(hours=3, minutes=30)) == []  # idle for less than a window
    assert [p["rows"] for p in _seal(url, settings, T0 + timedelta(hours=5))] == [0]
    assert _audit(url).ok


def _iso(value: datetime) -> str:
    from safeguard.evidence.case_state import iso_utc

    return iso_utc(value)  # type: ignore[return-value]


def test_the_same_rows_digest_alike_on_sqlite_and_postgresql(
    decisions: tuple[str, Settings, dict], pg_cluster: Any
) -> None:
    url, _settings_unused, template = decisions
    rows = _rows(template, [T0, T0, T0 + timedelta(microseconds=1), T0 + timedelta(minutes=5)])
    rows[1] = {**rows[1], "conversation_id": "B-conv", "risk": 0.1 + 0.2}
    pg_url = pg_cluster.fresh_database()
    digests = []
    for target in (url, pg_url):
        _insert(target, rows)
        with session_scope(target) as session:
            columns = [c.name for c in decisions_table().columns]
            whole, _ = digest_range(session, columns, None, T0 + timedelta(hours=1))
        digests.append((whole.rows, whole.hexdigest()))
    assert digests[0] == digests[1]
    assert digests[0][0] == 4


def _purge_at(url: str, settings: Settings, cutoff: datetime) -> dict:
    maintenance = Maintenance(get_sessionmaker(url), settings, writer=nullcontext)
    return maintenance.run_once(now=cutoff + timedelta(days=settings.retention.decisions_days))


def test_a_purge_that_cuts_a_range_reseals_the_rest(decisions: tuple[str, Settings, dict]) -> None:
    url, settings, template = decisions
    _insert(url, _rows(template, [T0 + timedelta(minutes=10 * i) for i in range(6)]))
    assert [p["rows"] for p in _seal(url, settings, T0 + timedelta(hours=2))] == [6]
    counts = _purge_at(url, settings, T0 + timedelta(minutes=25))
    assert counts["message_decisions"] == 3
    with session_scope(url) as session:
        record = session.execute(
            select(chain.EvidenceRecord).where(chain.EvidenceRecord.action == "decisions_purged")
        ).scalar_one()
    payload = chain.payload_of(record)
    assert payload["rows"] == 3 and payload["resealed"]["rows"] == 3 and payload["changed"] == []  # type: ignore[index]
    assert _audit(url).ok
    table = decisions_table()
    with session_scope(url) as session:
        session.execute(update(table).where(table.c.message_id == "m4").values(action="block"))
    report = _audit(url)
    assert [f.check for f in report.findings] == ["decisions"]
    assert "rows edited" in report.findings[0].message


def test_rows_changed_before_a_purge_stay_reported(decisions: tuple[str, Settings, dict]) -> None:
    url, settings, template = decisions
    _insert(url, _rows(template, [T0 + timedelta(minutes=10 * i) for i in range(6)]))
    _seal(url, settings, T0 + timedelta(hours=2))
    table = decisions_table()
    with session_scope(url) as session:
        session.execute(update(table).where(table.c.message_id == "m0").values(action="allow_forged"))
    _purge_at(url, settings, T0 + timedelta(minutes=25))
    report = _audit(url)
    assert not report.ok
    assert "rows edited" in report.findings[0].message
    assert "before the retention purge" in report.findings[0].message


def test_a_digest_over_fewer_columns_still_verifies(decisions: tuple[str, Settings, dict]) -> None:
    """A digest written before a column was added covers the columns it names, not the new one."""
    url, _settings_unused, template = decisions
    _insert(url, _rows(template, [T0, T0 + timedelta(minutes=1)]))
    columns = [c.name for c in decisions_table().columns if c.name != "case_id"]
    with session_scope(url) as session:
        whole, _ = digest_range(session, columns, None, T0 + timedelta(hours=1))
        payload = digest_payload(None, T0 + timedelta(hours=1), whole, columns)
        chain.append(session, kind="audit", action=DIGEST_ACTION, actor="test", payload=payload)
    assert _audit(url).ok
    table = decisions_table()
    with session_scope(url) as session:
        session.execute(update(table).where(table.c.message_id == "m0").values(case_id="not-covered"))
    assert _audit(url).ok
    with session_scope(url) as session:
        session.execute(update(table).where(table.c.message_id == "m0").values(action="block"))
    assert [f.check for f in _audit(url).findings] == ["decisions"]


def test_legacy_case_records_without_state_are_replayed(sqlite_url: str, tmp_path: Path) -> None:
    """Cases recorded before records carried their state are still checked on what their
    actions imply (status, decision, assignee, legal hold)."""
    settings = _settings(sqlite_url, tmp_path)
    with session_scope(sqlite_url) as session:
        case = cases.open_report(
            session,
            settings,
            reporter_id="child-1",
            target_type="account",
            target_id="adult-1",
            reason="other",
        )
        cases.decide(session, settings, case.id, decision="warn", actor="console:rev")
        case_id = case.id
    with session_scope(sqlite_url) as session:
        session.execute(text("DELETE FROM evidence_records"))
        session.execute(text("UPDATE evidence_head SET seq = 0, hash = :g"), {"g": chain.GENESIS})
        for action, payload in (
            ("case_opened", {"report": {"reason": "other"}}),
            ("decision", {"decision": "warn", "note": None}),
        ):
            chain.append(session, kind="evidence", action=action, actor="x", case_id=case_id, payload=payload)
    assert _audit(sqlite_url).ok
    with session_scope(sqlite_url) as session:
        session.execute(update(CaseRow).where(CaseRow.id == case_id).values(decision="dismiss"))
    report = _audit(sqlite_url)
    assert [f.check for f in report.findings] == ["case_row"]
    assert "decision is 'dismiss' in the table but record 2 says 'warn'" in report.findings[0].message


def _reported_case(url: str, settings: Settings) -> str:
    with session_scope(url) as session:
        case = cases.open_report(
            session,
            settings,
            reporter_id="child-1",
            target_type="account",
            target_id="adult-1",
            reason="other",
        )
        cases.decide(session, settings, case.id, decision="report_ncmec", actor="console:rev")
        return case.id


def test_retention_refuses_a_case_whose_clock_was_moved(sqlite_url: str, tmp_path: Path) -> None:
    """A database writer backdating ``reported_at`` (or lifting a legal hold) to get evidence
    purged early: the purge refuses the case and keeps its evidence."""
    settings = _settings(sqlite_url, tmp_path)
    backdated, held = _reported_case(sqlite_url, settings), _reported_case(sqlite_url, settings)
    with session_scope(sqlite_url) as session:
        cases.set_legal_hold(session, settings, held, hold=True, actor="console:admin")
        session.flush()
        session.execute(
            update(CaseRow).where(CaseRow.id == backdated).values(reported_at=utcnow() - timedelta(days=800))
        )
        session.execute(update(CaseRow).where(CaseRow.id == held).values(legal_hold=False))
    with session_scope(sqlite_url) as session:
        early = purge(session, settings, now=utcnow() + timedelta(days=30))
    assert early.case_ids == [] and set(early.refused) == {backdated}
    assert "reported_at is" in early.refused[backdated]
    with session_scope(sqlite_url) as session:
        late = purge(session, settings, now=utcnow() + timedelta(days=400))
    assert late.case_ids == [] and set(late.refused) == {backdated, held}
    assert "legal_hold is False in the table" in late.refused[held]
    with session_scope(sqlite_url) as session:
        assert session.get(CaseRow, backdated).purged_at is None  # type: ignore[union-attr]
        assert all(r.payload is not None for r in chain.records_for_case(session, held))


def test_a_purged_case_is_still_checked(sqlite_url: str, tmp_path: Path) -> None:
    """The purge erases the case's evidence payloads but records its state, so the row is still checked."""
    settings = _settings(sqlite_url, tmp_path)
    case_id = _reported_case(sqlite_url, settings)
    with session_scope(sqlite_url) as session:
        assert purge(session, settings, now=utcnow() + timedelta(days=400)).case_ids == [case_id]
    assert _audit(sqlite_url).ok
    with session_scope(sqlite_url) as session:
        session.execute(update(CaseRow).where(CaseRow.id == case_id).values(decision="dismiss"))
    report = _audit(sqlite_url)
    assert [f.check for f in report.findings] == ["case_row"]
    assert "'report_ncmec'" in report.findings[0].message


def test_escalations_joining_a_case_are_merged_as_the_case_service_does(
    sqlite_url: str, tmp_path: Path
) -> None:
    """A case opened from an escalation, then joined by a riskier one: the chain's merge gives the
    row's risk and categories; lowering the risk in the table (to bury the case in the queue) shows."""
    from safeguard.policy.models import EscalationRow

    settings = _settings(sqlite_url, tmp_path)
    with session_scope(sqlite_url) as session:
        upsert_account(session, "child-1", age_band="child", settings=settings)
        for risk, category in ((0.7, "secrecy"), (0.9, "meeting")):
            session.add(
                EscalationRow(
                    id=f"esc-{category}",
                    kind="message",
                    subject_account_id="adult-1",
                    recipient_ids=["child-1"],
                    conversation_id="c1",
                    message_id=f"m-{category}",
                    risk=risk,
                    reasons=[],
                    evidence={"signals": [{"category": category}]},
                    status="open",
                    created_at=utcnow(),
                )
            )
            session.flush()
            cases.sync_from_escalations(session, settings)  # the upkeep task
    with session_scope(sqlite_url) as session:
        case = session.execute(select(CaseRow)).scalar_one()
        assert case.risk == 0.9 and set(case.categories) == {"secrecy", "meeting"} and case.child_involved
        case_id = case.id
    assert _audit(sqlite_url).ok
    with session_scope(sqlite_url) as session:
        session.execute(update(CaseRow).where(CaseRow.id == case_id).values(risk=0.1, child_involved=False))
    report = _audit(sqlite_url)
    assert [f.check for f in report.findings] == ["case_row"]
    assert "risk is 0.1 in the table but record 2 says 0.9" in report.findings[0].message
    assert "child_involved is False in the table" in report.findings[0].message
