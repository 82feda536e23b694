"""Transparency statistics: counts, review times, automated precision; CSV and self-contained HTML."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

from report_support import Scenario
from sqlalchemy import text
from typer.testing import CliRunner

from safeguard.cli import app
from safeguard.core.clock import utcnow
from safeguard.reports import transparency
from safeguard.store.db import session_scope


def _decide(s: Scenario, case_id: str, decision: str) -> None:
    r = s.harness.client.post(
        f"/v1/cases/{case_id}/decisions", json={"decision": decision}, headers=s.harness.auth("review")
    )
    assert r.status_code == 200


def test_statistics(scenario: Scenario) -> None:
    h = scenario.harness
    report = h.client.post(
        "/v1/reports",
        json={
            "reporter_id": "child-1",
            "target_type": "account",
            "target_id": "adult-2",
            "reason": "secrecy",
        },
        headers=h.auth(),
    ).json()["case_id"]
    _decide(scenario, scenario.grooming, "ban")
    _decide(scenario, scenario.media, "dismiss")
    now = utcnow()
    with session_scope(h.url) as session:
        session.execute(
            text("UPDATE cases SET created_at = :c, first_reviewed_at = :r, decided_at = :d WHERE id = :id"),
            {
                "c": now - timedelta(hours=10),
                "r": now - timedelta(hours=8),
                "d": now - timedelta(hours=6),
                "id": scenario.grooming,
            },
        )
    today = date.today()
    with session_scope(h.url) as session:
        stats = transparency.compute(
            session, h.settings, today - timedelta(days=1), today + timedelta(days=1)
        )
    assert stats.total == 3
    assert stats.by_category == {"meeting": 1, "media_match": 1, "secrecy": 1}
    assert stats.by_surface["dm"] == 2
    assert stats.by_source == {"automated": 2, "user_report": 1}
    assert stats.automated_decided == 2 and stats.automated_confirmed == 1
    assert stats.automated_precision == 0.5
    assert stats.first_review_hours["p99"] >= 1.9
    assert stats.action_hours["p50"] is not None
    assert report
    rows = list(csv.reader(io.StringIO(transparency.to_csv(stats))))
    assert rows[0] == ["metric", "dimension", "value"]
    assert ["cases_by_category_and_surface", "meeting/dm", "1"] in rows
    assert ["automated_flags_confirmed_share", "", "0.5"] in rows


def test_empty_period(scenario: Scenario) -> None:
    with session_scope(scenario.harness.url) as session:
        stats = transparency.compute(session, scenario.harness.settings, date(2001, 1, 1), date(2001, 1, 31))
    assert stats.total == 0 and stats.automated_precision is None
    assert "no data" in transparency.to_html(stats)


def test_cli_writes_csv_and_self_contained_html(scenario: Scenario, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _decide(scenario, scenario.grooming, "warn")
    today = date.today().isoformat()
    result = CliRunner().invoke(
        app, ["report", "transparency", "--from", today, "--to", today, "--out-dir", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    page = (tmp_path / f"transparency-{today}-{today}.html").read_text()
    table = (tmp_path / f"transparency-{today}-{today}.csv").read_text()
    assert "cases_total,,2" in table
    assert page.count("<svg") == 5
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "<script" not in page and "<link" not in page
    assert "Cases by category" in page and "Hours to action" in page


def test_api_formats_and_bad_range(scenario: Scenario) -> None:
    h = scenario.harness
    today = date.today().isoformat()
    params = {"from": today, "to": today}
    as_json = h.client.get("/v1/reports/transparency", params=params, headers=h.auth("review"))
    assert {"metric": "cases_total", "dimension": "", "value": 2} in as_json.json()["rows"]
    as_csv = h.client.get(
        "/v1/reports/transparency", params={**params, "format": "csv"}, headers=h.auth("review")
    )
    assert as_csv.headers["content-type"].startswith("text/csv")
    as_html = h.client.get(
        "/v1/reports/transparency", params={**params, "format": "html"}, headers=h.auth("review")
    )
    assert "<svg" in as_html.text
    bad = h.client.get(
        "/v1/reports/transparency", params={"from": today, "to": "2000-01-01"}, headers=h.auth("review")
    )
    assert bad.status_code == 422 and bad.json()["field"] == "to"  # like every bad query parameter


def test_sextortion_count_and_median_time_to_first_decision(scenario: Scenario) -> None:
    import json

    h = scenario.harness
    _decide(scenario, scenario.grooming, "ban")
    _decide(scenario, scenario.media, "dismiss")
    now = utcnow()
    first = {"decision": "escalate", "by": "r1", "at": (now - timedelta(hours=7)).isoformat(), "note": ""}
    second = {"decision": "ban", "by": "r2", "at": (now - timedelta(hours=1)).isoformat(), "note": ""}
    with session_scope(h.url) as session:
        session.execute(
            text(
                "UPDATE cases SET created_at = :c, categories = :cat, actions = :a, decided_at = :d"
                " WHERE id = :id"
            ),
            {
                "c": now - timedelta(hours=10),
                "cat": json.dumps(["sextortion", "coercion"]),
                "a": json.dumps([first, second]),
                "d": now - timedelta(hours=1),
                "id": scenario.grooming,
            },
        )
    today = date.today()
    with session_scope(h.url) as session:
        stats = transparency.compute(
            session, h.settings, today - timedelta(days=1), today + timedelta(days=1)
        )
        kind = session.execute(
            text("SELECT kind FROM cases WHERE id = :id"), {"id": scenario.grooming}
        ).scalar()
    assert stats.sextortion_cases == 1
    assert abs(stats.median_action_hours_by_kind[kind] - 3.0) < 0.1
    assert all(v is not None and v >= 0 for v in stats.median_action_hours_by_kind.values())
    rows = list(csv.reader(io.StringIO(transparency.to_csv(stats))))
    assert ["sextortion_cases", "", "1"] in rows
    assert any(r[0] == "median_hours_to_action" and r[1] == kind for r in rows)
    assert "Sextortion cases: <strong>1</strong>" in transparency.to_html(stats)
