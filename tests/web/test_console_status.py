"""The console's status page (/console/status, issue 18): open cases by kind and SLA class,
overdue counts, decisions per reviewer, webhooks, the stream and detector latency; admins
only (a reviewer's refusal is audited); every view is audited; the reading is the shared,
cached one /metrics uses."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
import redis
from sqlalchemy import event, select
from web_support import Harness, bank_benign_image, browser, build, create_users, csrf, login

from safeguard.cases.models import CaseRow
from safeguard.cases.sla import sla_state
from safeguard.config import Settings
from safeguard.evidence.models import EvidenceRecord
from safeguard.service.status import read_status
from safeguard.store.db import dispose_engines, get_sessionmaker, session_scope
from safeguard.stream import StreamLayout


class _Rows(HTMLParser):
    """Each ``<tr id=...>`` of a page: its cells' text by their first class."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, dict[str, str]] = {}
        self._row: str | None = None
        self._cell: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "tr" and found.get("id"):
            self._row = found["id"]
            self.rows[self._row] = {}
        elif tag == "td" and self._row is not None:
            classes = (found.get("class") or "").split()
            self._cell = next((c for c in classes if c != "num"), None)
            if self._cell:
                self.rows[self._row][self._cell] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._cell = None
        elif tag == "tr":
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._row is not None and self._cell is not None:
            self.rows[self._row][self._cell] += data.strip()


def _rows(html: str) -> dict[str, dict[str, str]]:
    parser = _Rows()
    parser.feed(html)
    return parser.rows


def _records(url: str, action: str) -> list[tuple[str, dict]]:
    with session_scope(url) as session:
        rows = session.execute(
            select(EvidenceRecord.actor, EvidenceRecord.payload).where(EvidenceRecord.action == action)
        ).all()
    return [(actor, json.loads(payload or "{}")) for actor, payload in rows]


def _open_cases(harness: Harness) -> list[CaseRow]:
    with session_scope(harness.url) as session:
        rows = list(session.execute(select(CaseRow).where(CaseRow.status != "closed")).scalars())
        session.expunge_all()
    return rows


def _age(harness: Harness, case_id: str, by: timedelta) -> None:
    with session_scope(harness.url) as session:
        row = session.get(CaseRow, case_id)
        assert row is not None
        row.created_at = datetime.now(UTC) - by


def _dismiss(harness: Harness, username: str, case_id: str) -> None:
    client = login(harness, username)
    token = csrf(client.get(f"/console/cases/{case_id}").text)
    done = client.post(
        f"/console/cases/{case_id}/decision", data={"decision": "dismiss", "csrf_token": token}
    )
    assert "Decision recorded." in done.text


def _seed(console: Harness) -> dict[str, str]:
    """Two grooming cases (one waiting 20 min of its 15), known media between adults, two
    reports (one waiting 25 h of its 24, one dismissed by rev)."""
    console.account("adult-3", "adult")
    made = {
        "late_grooming": console.grooming_case(conv="st-1"),
        "grooming": console.grooming_case(conv="st-2", child="child-2", adult="adult-2"),
        "media": console.media("adult-2", [], bank_benign_image(console.url), mid="st-img")["case_id"],
    }
    for name, target in (("late_report", "adult-1"), ("dismissed", "adult-2")):
        made[name] = console.report(
            reporter_id="adult-3", target_type="account", target_id=target, reason="harassment"
        )["case_id"]
    _age(console, made["late_grooming"], timedelta(minutes=20))
    _age(console, made["late_report"], timedelta(hours=25))
    _dismiss(console, "rev", made["dismissed"])
    return made


def test_admin_sees_counts_that_match_the_cases(console: Harness) -> None:
    _seed(console)
    expected = _open_cases(console)
    now = datetime.now(UTC)
    targets = console.settings.cases.sla

    def overdue(row: CaseRow) -> bool:
        state = sla_state(
            targets, sla_class=row.sla_class, created_at=row.created_at, decided_at=row.decided_at, now=now
        )
        return state.state == "breached"

    page = login(console, "boss").get("/console/status")
    assert page.status_code == 200
    assert "script-src 'none'" in page.headers["content-security-policy"]
    rows = _rows(page.text)

    by_kind = Counter(r.kind for r in expected)
    assert by_kind == {"grooming": 2, "media_match": 1, "user_report": 1}
    for kind, count in by_kind.items():
        shown = rows[f"kind-{kind}"]
        assert int(shown["open"]) == count
        assert int(shown["overdue-count"]) == sum(overdue(r) for r in expected if r.kind == kind)
        bands = [int(shown[c]) for c in ("age-under-1h", "age-1h-24h", "age-over-24h")]
        assert sum(bands) == count
    assert rows["kind-grooming"]["oldest"] == "20 min"
    assert rows["kind-user_report"]["oldest"] == "25 h"
    assert [rows["kind-user_report"][c] for c in ("age-under-1h", "age-over-24h")] == ["0", "1"]

    by_class = Counter((r.kind, r.sla_class) for r in expected)
    assert set(by_class) == {
        ("grooming", "child_in_danger"),
        ("media_match", "known_abuse_media"),
        ("user_report", "user_report"),
    }
    for (kind, sla_class), count in by_class.items():
        shown = rows[f"sla-{kind}-{sla_class}"]
        assert int(shown["open"]) == count
        assert int(shown["overdue-count"]) == sum(
            overdue(r) for r in expected if (r.kind, r.sla_class) == (kind, sla_class)
        )
    assert rows["sla-grooming-child_in_danger"]["target"] == "15 min"
    assert rows["sla-grooming-child_in_danger"]["overdue-count"] == "1"
    assert rows["sla-user_report-user_report"]["overdue-count"] == "1"
    assert rows["sla-media_match-known_abuse_media"]["overdue-count"] == "0"
    assert '<dd class="open-total">4</dd>' in page.text
    assert '<dd class="overdue-total overdue">2</dd>' in page.text

    assert '<tr class="reviewer"><td>console:rev</td><td class="num decisions">1</td></tr>' in page.text
    assert "Decisions per reviewer <small>last 24 h</small>" in page.text
    assert '<dd class="webhooks-pending">0</dd>' in page.text  # no webhook targets configured
    assert "No stream configured" in page.text
    # Detector latency from this server's own registry: every run (8 messages or more).
    registry = console.client.app.state.services.metrics.registry
    scored = registry.get_sample_value("safeguard_detector_seconds_count")
    assert scored is not None and scored >= 8
    assert f"{scored:.0f} detector runs in this server: mean " in page.text


def test_a_reviewer_gets_403_and_the_refusal_is_audited(console: Harness) -> None:
    reviewer = login(console, "rev")
    refused = reviewer.get("/console/status")
    assert refused.status_code == 403
    assert "The status page is for admins." in refused.text
    assert _records(console.url, "view_refused") == [("console:rev", {"page": "status"})]
    assert _records(console.url, "view_status") == []
    assert 'href="/console/status"' not in reviewer.get("/console").text
    assert 'href="/console/status"' in login(console, "boss").get("/console").text


def test_the_view_is_audited(console: Harness) -> None:
    admin = login(console, "boss")
    assert "No open cases." in admin.get("/console/status").text
    assert admin.get("/console/status").status_code == 200
    views = _records(console.url, "view_status")
    assert [actor for actor, _ in views] == ["console:boss", "console:boss"]
    assert all(what["at"] for _, what in views)
    anonymous = browser(console).get("/console/status", follow_redirects=False)
    assert anonymous.headers["location"] == "/console/login"
    assert len(_records(console.url, "view_status")) == 2


def _backlog_queries(console: Harness) -> list[str]:
    """Start recording the backlog's grouped case queries on the app's database."""
    engine = console.client.app.state.services.session_factory.kw["bind"]
    seen: list[str] = []

    def record(_conn, _cursor, statement: str, *_args: object) -> None:  # type: ignore[no-untyped-def]
        if "FROM cases" in statement and "GROUP BY cases.kind" in statement:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    return seen


def test_the_page_reuses_the_metrics_reading(console: Harness) -> None:
    admin = login(console, "boss")
    queries = _backlog_queries(console)
    first = _rows(admin.get("/console/status").text)
    assert len(queries) == 1 and first == {}
    console.grooming_case(conv="st-cache")
    again = admin.get("/console/status")
    scrape = console.client.get("/metrics", headers=console.auth("admin"))
    assert scrape.status_code == 200
    assert len(queries) == 1  # the page and /metrics share one reading for backlog_cache_seconds
    assert "No open cases." in again.text and "read at most every 15 s" in again.text
    assert 'safeguard_cases_open{kind="grooming"}' not in scrape.text


@pytest.fixture
def fresh(tmp_path: Path, redis_url: str) -> Iterator[Harness]:
    """A service that reads the backlog on every view, with a two-partition stream."""
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    harness, client = build(
        url,
        operations={"backlog_cache_seconds": 0},
        stream={"url": redis_url, "prefix": "st", "partitions": 2},
    )
    create_users(url)
    yield harness
    client.__exit__(None, None, None)
    dispose_engines()


def test_stream_lag_and_dead_letters_per_partition(fresh: Harness, redis_url: str) -> None:
    layout = StreamLayout("st", partitions=2)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    for k in (0, 1):
        client.xgroup_create(layout.stream(k), layout.group, id="0", mkstream=True)
    for i in range(3):
        client.xadd(layout.stream(1), {"event": f"e{i}"})
    client.xreadgroup(layout.group, "w1", {layout.stream(1): ">"}, count=1)
    client.xadd(layout.dead, {"reason": "invalid event: test"})
    admin = login(fresh, "boss")
    page = admin.get("/console/status").text
    assert "Stream <code>st</code>: " in page
    assert '<span class="dead-letters overdue">1 dead letters</span>' in page
    rows = _rows(page)
    assert [rows[f"partition-{k}"]["backlog"] for k in (0, 1)] == ["0", "3"]
    assert [rows["partition-1"][c] for c in ("pending", "lag")] == ["1", "2"]
    fresh.grooming_case(conv="st-fresh")  # with no cache, the next view counts it
    rows = _rows(admin.get("/console/status").text)
    assert rows["kind-grooming"]["open"] == "1" and rows["kind-grooming"]["oldest"] == "under a minute"


def test_the_reading_counts_overdue_cases_per_sla_class(db_url: str) -> None:
    """The shared reading behind the page, on SQLite and PostgreSQL: an undecided case is
    overdue once its class's target has passed; a re-opened case that was decided is not."""
    now = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
    cases = [  # id, kind, SLA class, waited, decided
        ("g1", "grooming", "child_in_danger", timedelta(minutes=20), False),
        ("g2", "grooming", "child_in_danger", timedelta(minutes=10), False),
        ("g3", "grooming", "child_contact", timedelta(hours=2), True),
        ("m1", "media_match", "known_abuse_media", timedelta(hours=5), False),
        ("r1", "user_report", "user_report", timedelta(hours=23), False),
        ("x1", "grooming", "not_a_class", timedelta(hours=25), False),
    ]
    with session_scope(db_url) as session:
        for case_id, kind, sla_class, age, decided in cases:
            session.add(
                CaseRow(
                    id=case_id,
                    kind=kind,
                    source="automated",
                    subject_account_id="adult-1",
                    sla_class=sla_class,
                    created_at=now - age,
                    decided_at=now - age / 2 if decided else None,
                )
            )
    with get_sessionmaker(db_url)() as session:
        status = read_status(session, Settings(database_url=db_url), now=now)
    got = {(s.kind, s.sla_class): (s.open, s.overdue, s.target_minutes) for s in status.sla}
    assert got == {
        ("grooming", "child_contact"): (1, 0, 60),
        ("grooming", "child_in_danger"): (2, 1, 15),
        ("grooming", "not_a_class"): (1, 1, 1440),
        ("media_match", "known_abuse_media"): (1, 1, 240),
        ("user_report", "user_report"): (1, 0, 1440),
    }
    kinds = {k.kind: (k.open, k.overdue, round(k.oldest_seconds)) for k in status.cases}
    assert kinds == {
        "grooming": (4, 2, 25 * 3600),
        "media_match": (1, 1, 5 * 3600),
        "user_report": (1, 0, 23 * 3600),
    }
    assert status.overdue_cases == 3 and status.to_dict()["overdue_cases"] == 3
