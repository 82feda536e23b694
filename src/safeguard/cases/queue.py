"""The review queue: cases filtered, ranked by priority and paged, all in SQL.

A case row stores its priority without the recency term (``priority_base``); the
queue adds recency for the time of the request in its ``ORDER BY``, so a page costs
one ranked query and one count, however many cases are open
(``benchmarks/bench_cases.py`` measures it at 100,000). Reading the queue writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, case, func, literal, select
from sqlalchemy.orm import Session

from safeguard.cases.models import CaseRow
from safeguard.cases.priority import RECENCY_HALF_LIFE_HOURS, RECENCY_WEIGHT, priority
from safeguard.config import Settings
from safeguard.core.clock import aware, utcnow
from safeguard.store.sql import hours_between, json_array_contains, power, rounded


@dataclass(slots=True)
class QueueFilters:
    """Queue filters; None means any."""

    status: str | None = "open"
    kind: str | None = None
    source: str | None = None
    surface: str | None = None
    category: str | None = None
    child_involved: bool | None = None
    assignee: str | None = None
    limit: int = 100
    offset: int = 0


@dataclass(slots=True)
class QueueItem:
    """A case as the queue lists it, with its priority."""

    case: CaseRow
    priority: float
    extra: dict = field(default_factory=dict)


def case_priority(case: CaseRow, now: datetime | None = None) -> float:
    """The priority of ``case`` at ``now``."""
    now = now or utcnow()
    created = aware(case.created_at) or now
    return priority(
        risk=case.risk,
        child_involved=case.child_involved,
        categories=case.categories or [],
        age_hours=(now - created).total_seconds() / 3600.0,
    )


def priority_at(now: datetime) -> Any:
    """:func:`case_priority` as an SQL expression over the case row."""
    age = hours_between(literal(now, DateTime(timezone=True)), CaseRow.created_at)
    age = case((age > 0, age), else_=0.0)
    return rounded(CaseRow.priority_base + RECENCY_WEIGHT * power(0.5, age / RECENCY_HALF_LIFE_HOURS), 4)


def _where(query: Any, filters: QueueFilters, visible_to: str | None) -> Any:
    if filters.status:
        query = query.where(CaseRow.status == filters.status)
    for column, value in (
        (CaseRow.kind, filters.kind),
        (CaseRow.source, filters.source),
        (CaseRow.surface, filters.surface),
        (CaseRow.assignee, filters.assignee),
        (CaseRow.child_involved, filters.child_involved),
    ):
        if value is not None:
            query = query.where(column == value)
    if filters.category:
        query = query.where(json_array_contains(CaseRow.categories, filters.category))
    if visible_to is not None:
        query = query.where((CaseRow.assignee.is_(None)) | (CaseRow.assignee == visible_to))
    return query


def queue(
    session: Session,
    settings: Settings,
    filters: QueueFilters | None = None,
    *,
    visible_to: str | None = None,
    now: datetime | None = None,
) -> tuple[list[QueueItem], int]:
    """Cases matching ``filters``, highest priority first (then oldest, then by id), and
    the total before paging.

    ``visible_to`` limits the list to unassigned cases and those assigned to
    that reviewer (the console's reviewer role).
    """
    filters = filters or QueueFilters()
    now = now or utcnow()
    counted = _where(select(func.count()).select_from(CaseRow), filters, visible_to)
    total = session.execute(counted).scalar_one()
    # Rank the ids alone (a small sort, however deep the page), then read that page's rows.
    order = priority_at(now).label("rank")
    page = (
        _where(select(CaseRow.id, order, CaseRow.created_at), filters, visible_to)
        .order_by(order.desc(), CaseRow.created_at, CaseRow.id)
        .offset(filters.offset)
        .limit(filters.limit)
        .subquery()
    )
    ranked = (
        select(CaseRow)
        .join(page, CaseRow.id == page.c.id)
        .order_by(page.c.rank.desc(), page.c.created_at, page.c.id)
    )
    rows = session.execute(ranked).scalars().all()
    return [QueueItem(row, case_priority(row, now)) for row in rows], int(total)
