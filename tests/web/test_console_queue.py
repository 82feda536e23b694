"""The queue page (issue 18): risk, time waited and SLA in words, the sort selector,
filters, paging past 200 and the "by account" view."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from web_support import Harness, csrf, login

from safeguard.cases.escalations import set_priority_base
from safeguard.cases.models import CaseRow
from safeguard.cases.queue import QueueItem
from safeguard.cases.sla import case_sla
from safeguard.config import Settings
from safeguard.store.db import session_scope
from safeguard.web import queue_view

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def _row(
    case_id: str, *, account: str, minutes_ago: float, sla: str, risk: float = 0.5, **kw: object
) -> CaseRow:
    case = CaseRow(
        id=case_id,
        kind=kw.pop("kind", "grooming"),
        source=kw.pop("source", "automated"),
        status="open",
        subject_account_id=account,
        recipient_ids=[],
        surface="dm",
        child_involved=bool(kw.pop("child", False)),
        risk=risk,
        categories=list(kw.pop("categories", [])),
        actions=[],
        sla_class=sla,
        created_at=datetime.now(UTC) - timedelta(minutes=minutes_ago),
    )
    set_priority_base(case)
    return case


def _ids(html: str) -> list[str]:
    return re.findall(r'class="case-link" href="/console/cases/([^"]+)"', html)


def test_parse_checks_every_value_and_keeps_defaults() -> None:
    asked = queue_view.parse({"sort": "sla", "limit": "500", "offset": "250", "sla_class": "appeal"})
    assert (asked.filters.sort, asked.filters.limit, asked.filters.offset) == ("sla", 200, 250)
    assert asked.filters.sla_class == "appeal" and asked.view == "cases"
    odd = queue_view.parse({"sort": "drop table", "limit": "-3", "view": "x", "sla_class": "nope"})
    assert (odd.filters.sort, odd.filters.limit, odd.view, odd.filters.sla_class) == (
        "priority",
        queue_view.PAGE_SIZE,
        "cases",
        None,
    )
    assert odd.filters.status == "open"
    assert queue_view.parse({"status": "any"}).filters.status is None


def test_page_links_keep_the_filters() -> None:
    asked = queue_view.parse({"sort": "waiting", "kind": "grooming", "limit": "200", "offset": "200"})
    links = queue_view.page_links(asked.params, asked.filters, total=450)
    assert (links["first"], links["last"]) == (201, 400)
    assert links["previous"] is not None and "offset=0" in links["previous"]
    assert links["next"] is not None and "offset=400" in links["next"] and "kind=grooming" in links["next"]
    assert "sort=waiting" in links["next"] and "limit=200" in links["next"]
    last = queue_view.page_links(asked.params, queue_view.parse({"offset": "400"}).filters, total=450)
    assert last["next"] is None and last["last"] == 450


def test_rows_say_waited_time_and_sla_in_words() -> None:
    targets = Settings().cases.sla
    late = _row("late", account="a", minutes_ago=0, sla="child_in_danger")
    late.created_at = NOW - timedelta(hours=3, minutes=20)
    fresh = _row("fresh", account="a", minutes_ago=0, sla="appeal")
    fresh.created_at = NOW - timedelta(minutes=12)
    rows = queue_view.case_rows([QueueItem(c, 1.0, case_sla(c, targets, NOW)) for c in (late, fresh)], NOW)
    assert rows[0]["waited"] == "3 h 20 min ago" and rows[0]["sla_left"].startswith("overdue by ")
    assert rows[0]["sla_state"] == "breached"
    assert rows[1]["waited"] == "12 min ago" and rows[1]["sla_left"].startswith("due in ")
    assert "an appeal" in rows[1]["sla_reason"]


def test_queue_sorts_by_sla_and_waiting_and_shows_sla(console: Harness) -> None:
    with session_scope(console.url) as session:
        # High priority but a long SLA target; low priority, past its short target.
        session.add(
            _row(
                "media-new",
                account="adult-7",
                minutes_ago=5,
                sla="known_abuse_media",
                categories=["media_match"],
                risk=1.0,
            )
        )
        session.add(_row("danger-old", account="adult-8", minutes_ago=90, sla="child_in_danger", risk=0.1))
        session.add(_row("standard-oldest", account="adult-9", minutes_ago=600, sla="standard", risk=0.0))
    client = login(console, "rev")
    by_priority = _ids(client.get("/console").text)
    assert by_priority[0] == "media-new"
    by_sla = client.get("/console?sort=sla")
    assert _ids(by_sla.text)[0] == "danger-old"
    assert "overdue by" in by_sla.text and "due in" in by_sla.text
    assert re.search(r"<td[^>]*>1 h 30 min ago</td>", by_sla.text)
    assert _ids(client.get("/console?sort=waiting").text)[0] == "standard-oldest"
    only = client.get("/console?sla_class=child_in_danger")
    assert _ids(only.text) == ["danger-old"]


def test_queue_pages_past_200(console: Harness) -> None:
    with session_scope(console.url) as session:
        for i in range(230):
            session.add(_row(f"bulk-{i:03d}", account=f"acct-{i % 7}", minutes_ago=i, sla="standard"))
    client = login(console, "boss")
    first = client.get("/console?limit=200")
    assert len(_ids(first.text)) == 200 and "1-200 of 230" in first.text
    next_link = re.search(r'<a rel="next" href="([^"]+)"', first.text)
    assert next_link is not None
    second = client.get(next_link.group(1).replace("&amp;", "&"))
    rest = _ids(second.text)
    assert len(rest) == 30 and not set(rest) & set(_ids(first.text))
    assert "201-230 of 230" in second.text and 'rel="next"' not in second.text


def test_by_account_view_folds_cases(console: Harness) -> None:
    with session_scope(console.url) as session:
        for i in range(3):
            session.add(
                _row(f"multi-{i}", account="adult-multi", minutes_ago=10 * i, sla="child_contact", child=True)
            )
        session.add(_row("single", account="adult-single", minutes_ago=1, sla="standard"))
    client = login(console, "rev")
    page = client.get("/console?view=accounts")
    assert page.status_code == 200 and "2 accounts" in page.text
    cells = re.search(
        r"adult-multi</a></td>\s*<td class=\"num\">(\d+)</td>\s*<td class=\"num\">(\d+)</td>", page.text
    )
    assert cells is not None and cells.groups() == ("3", "3")
    assert page.text.index("adult-multi") < page.text.index("adult-single")
    filtered = client.get("/console?account=adult-multi")
    assert sorted(_ids(filtered.text)) == ["multi-0", "multi-1", "multi-2"]


def test_take_next_in_the_console(console: Harness) -> None:
    case_id = console.grooming_case()
    rev, rev2 = login(console, "rev"), login(console, "rev2")
    token = csrf(rev.get("/console").text)
    taken = rev.post("/console/take-next", data={"csrf_token": token}, follow_redirects=False)
    assert taken.status_code == 303 and taken.headers["location"] == f"/console/cases/{case_id}"
    none_left = rev2.post("/console/take-next", data={"csrf_token": csrf(rev2.get("/console").text)})
    assert "No open case is free to take." in none_left.text
    assert rev.post("/console/take-next", data={}).status_code == 403
