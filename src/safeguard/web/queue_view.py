"""The queue page's parts as pure functions: filters from the query string, rows in
words ("12 min ago", "due in 12 min"), and the paging links.

The route (``web.routes.queue_page``) reads the queue with these and renders them;
nothing here touches the database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from safeguard.cases.priority import SLA_CLASSES
from safeguard.cases.queue import SORTS, AccountGroup, QueueFilters, QueueItem
from safeguard.cases.sla import SLA_LABELS, humane_left, humane_minutes, humane_since
from safeguard.cases.views import case_dict

FILTERS = ("status", "kind", "surface", "category", "child", "source", "sla_class", "account", "sort", "view")
PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
VIEWS = ("cases", "accounts")


@dataclass(frozen=True, slots=True)
class QueueRequest:
    """What the query string asks for, checked: unknown values fall back to the defaults."""

    params: dict[str, str | None]
    filters: QueueFilters
    view: str


def _int(value: str | None, default: int, low: int, high: int) -> int:
    if value is None or not value.isdigit():
        return default
    return min(max(int(value), low), high)


def parse(query: Mapping[str, str]) -> QueueRequest:
    """The queue's filters, order, view and page from the query string."""
    params: dict[str, str | None] = {k: (query.get(k) or None) for k in FILTERS}
    status = params["status"] or "open"
    sort = params["sort"] if params["sort"] in SORTS else "priority"
    view = params["view"] if params["view"] in VIEWS else "cases"
    sla = params["sla_class"] if params["sla_class"] in SLA_CLASSES else None
    filters = QueueFilters(
        status=None if status == "any" else status,
        kind=params["kind"],
        surface=params["surface"],
        category=params["category"],
        source=params["source"],
        child_involved={"yes": True, "no": False}.get(params["child"] or ""),
        sla_class=sla,
        subject_account_id=params["account"],
        sort=sort,
        limit=_int(query.get("limit"), PAGE_SIZE, 1, MAX_PAGE_SIZE),
        offset=_int(query.get("offset"), 0, 0, 10**9),
    )
    params.update(status=status, sort=sort, view=view, sla_class=sla)
    return QueueRequest(params, filters, view)


def case_rows(items: list[QueueItem], now: datetime) -> list[dict]:
    """Queue rows for people: the case, its risk, how long it has waited, its SLA in words."""
    rows = []
    for item in items:
        row = case_dict(item.case, now)
        row["priority"] = item.priority
        row["waited"] = humane_since(item.case.created_at, now)
        if item.sla is not None:
            row["sla_state"] = item.sla.state
            row["sla_left"] = humane_left(item.sla)
            row["sla_reason"] = item.sla.reason
        rows.append(row)
    return rows


def account_rows(groups: list[AccountGroup], now: datetime) -> list[dict]:
    """The "by account" rows: each account's open cases folded into one line."""
    return [
        {
            "account_id": g.account_id,
            "cases": g.cases,
            "children_involved": g.children_involved,
            "priority": g.top_priority,
            "risk": g.top_risk,
            "waited": humane_since(g.oldest_at, now),
            "sla_left": (
                f"overdue by {humane_minutes(g.minutes_left)}"
                if g.minutes_left < 0
                else f"due in {humane_minutes(g.minutes_left)}"
            ),
            "overdue": g.minutes_left < 0,
            "kinds": g.kinds,
        }
        for g in groups
    ]


def page_links(params: Mapping[str, str | None], filters: QueueFilters, total: int) -> dict:
    """Previous/next links (offset and limit kept with every filter), and the range shown."""
    kept = {k: v for k, v in params.items() if v}
    limit, offset = filters.limit, filters.offset

    def link(at: int) -> str:
        return "/console?" + urlencode({**kept, "offset": at, "limit": limit})

    return {
        "first": offset + 1 if total else 0,
        "last": min(offset + limit, total),
        "previous": link(max(offset - limit, 0)) if offset > 0 else None,
        "next": link(offset + limit) if offset + limit < total else None,
    }


SLA_CHOICES = tuple((name, SLA_LABELS.get(name, name)) for name in SLA_CLASSES)
