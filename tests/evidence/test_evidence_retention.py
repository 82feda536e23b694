"""Retention: evidence kept for the period after a report, legal holds honoured, purges logged."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select, text
from typer.testing import CliRunner

from safeguard.cases import service as cases
from safeguard.cases.models import CaseRow
from safeguard.config import Settings
from safeguard.core.clock import utcnow
from safeguard.evidence import chain
from safeguard.evidence.models import EvidenceRecord
from safeguard.evidence.retention import purge
from safeguard.store.db import session_scope


def _case(url: str, settings: Settings, decision: str | None = "report_ncmec") -> str:
    with session_scope(url) as session:
        case = cases.open_report(
            session,
            settings,
            reporter_id="child-9",
            target_type="account",
            target_id="adult-9",
            reason="platform_move",
            details="they said add me on snap",
        )
        if decision:
            cases.decide(session, settings, case.id, decision=decision, actor="console:rev")
        return case.id


def test_evidence_is_kept_for_a_year_after_the_report(sqlite_url: str) -> None:
    settings = Settings(database_url=sqlite_url)
    case_id = _case(sqlite_url, settings)
    with session_scope(sqlite_url) as session:
        early = purge(session, settings, now=utcnow() + timedelta(days=364))
    assert early.case_ids == []
    with session_scope(sqlite_url) as session:
        late = purge(session, settings, now=utcnow() + timedelta(days=366))
    assert late.case_ids == [case_id]
    assert late.erased_seqs
    with session_scope(sqlite_url) as session:
        case = session.get(CaseRow, case_id)
        assert case.purged_at is not None
        assert case.reporter_id is None and case.details is None
        records = chain.records_for_case(session, case_id)
        erased = [r for r in records if r.kind == "evidence"]
        assert all(r.payload is None and r.purged for r in erased)
        log = session.execute(select(EvidenceRecord).where(EvidenceRecord.action == "purge")).scalar_one()
        assert json.loads(log.payload)["case_ids"] == [case_id]
        assert chain.verify(session).ok


def test_the_period_is_configurable(sqlite_url: str) -> None:
    settings = Settings(database_url=sqlite_url, retention={"escalations_days": 30})
    case_id = _case(sqlite_url, settings)
    with session_scope(sqlite_url) as session:
        assert purge(session, settings, now=utcnow() + timedelta(days=31)).case_ids == [case_id]


def test_legal_hold_and_open_cases_are_never_purged(sqlite_url: str) -> None:
    settings = Settings(database_url=sqlite_url)
    held = _case(sqlite_url, settings)
    open_case = _case(sqlite_url, settings, decision=None)
    with session_scope(sqlite_url) as session:
        cases.set_legal_hold(session, settings, held, hold=True, actor="console:admin")
    later = utcnow() + timedelta(days=800)
    with session_scope(sqlite_url) as session:
        result = purge(session, settings, now=later)
    assert result.case_ids == []
    assert result.held == [held]
    with session_scope(sqlite_url) as session:
        assert session.get(CaseRow, open_case).purged_at is None
        cases.set_legal_hold(session, settings, held, hold=False, actor="console:admin")
    with session_scope(sqlite_url) as session:
        assert purge(session, settings, now=later).case_ids == [held]


def test_dry_run_removes_nothing(sqlite_url: str) -> None:
    settings = Settings(database_url=sqlite_url)
    _case(sqlite_url, settings)
    with session_scope(sqlite_url) as session:
        result = purge(session, settings, now=utcnow() + timedelta(days=400), dry_run=True)
    assert result.case_ids and result.dry_run
    with session_scope(sqlite_url) as session:
        assert (
            session.execute(text("SELECT count(*) FROM evidence_records WHERE payload IS NULL")).scalar() == 0
        )


def test_cli_purge_and_verify(sqlite_url: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from safeguard.cli import app
    from safeguard.config import get_settings

    monkeypatch.setenv("SAFEGUARD_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("SAFEGUARD_RETENTION__ESCALATIONS_DAYS", "1")
    get_settings.cache_clear()
    settings = get_settings()
    case_id = _case(sqlite_url, settings)
    with session_scope(sqlite_url) as session:
        reported = session.get(CaseRow, case_id).reported_at  # type: ignore[union-attr]
        session.execute(text("UPDATE cases SET reported_at = :t"), {"t": utcnow() - timedelta(days=2)})
    runner = CliRunner()
    result = runner.invoke(app, ["cases", "purge"])
    assert result.exit_code == 0, result.output
    # A retention clock moved in the table (not in the chain) does not get evidence purged.
    assert json.loads(result.output)["case_ids"] == []
    assert list(json.loads(result.output)["refused"]) == [case_id]
    with session_scope(sqlite_url) as session:
        session.execute(text("UPDATE cases SET reported_at = :t"), {"t": reported})
    result = runner.invoke(app, ["cases", "purge", "--days", "0"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["case_ids"] == [case_id]
    verified = runner.invoke(app, ["audit", "verify"])
    assert verified.exit_code == 0, verified.output
    assert verified.output.startswith("ok:")
    with session_scope(sqlite_url) as session:
        session.execute(text("UPDATE evidence_records SET actor = 'x' WHERE seq = 1"))
    tampered = runner.invoke(app, ["audit", "verify"])
    assert tampered.exit_code == 1
    assert "TAMPERED at record 1" in tampered.output
