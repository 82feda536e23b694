"""The review queue: cases filtered, ranked by priority and paged, all in SQL.

A case row stores its priority without the recency term (``priority_base``); the
queue adds recency for the time of the request in its ``ORDER BY``, so a page costs
one ranked query and one count, however many cases are open
(``benchmarks/bench_cases.py`` measures it at 100,000). Reading the queue writes nothing.

Three orders: ``priority`` (the default; what "take next" follows), ``sla`` (least
time left to the SLA deadline first: ``cases.sla``) and ``waiting`` (oldest first).
:func:`account_groups` folds the open cases of each account into one row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, and_, case, func, literal, or_, select
from sqlalchemy.orm import Session

from safeguard.cases.models import CaseRow
from safeguard.cases.priority import RECENCY_HALF_LIFE_HOURS, RECENCY_WEIGHT, priority
from safeguard.cases.sla import SlaState, case_sla, minutes_left_at
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
    subject_account_id: str | None = None
    sla_class: str | None = None
    sort: str = "priority"  # priority | sla | waiting
    limit: int = 100
    offset: int = 0


@dataclass(slots=True)
class QueueItem:
    """A case as the queue lists it, with its priority."""

    case: CaseRow
    priority: float
    sla: SlaState | None = None
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


SORTS = ("priority", "sla", "waiting")


def visible_to_reviewer(reviewer: str, now: datetime) -> Any:
    """Cases a reviewer may see and take: unassigned, theirs, or handed out by "take next"
    to someone whose lease has run out."""
    return or_(
        CaseRow.assignee.is_(None),
        CaseRow.assignee == reviewer,
        and_(CaseRow.lease_until.is_not(None), CaseRow.lease_until < literal(now, DateTime(timezone=True))),
    )


def _where(query: Any, filters: QueueFilters, visible_to: str | None, now: datetime | None = None) -> Any:
    if filters.status:
        query = query.where(CaseRow.status == filters.status)
    for column, value in (
        (CaseRow.kind, filters.kind),
        (CaseRow.source, filters.source),
        (CaseRow.surface, filters.surface),
        (CaseRow.assignee, filters.assignee),
        (CaseRow.child_involved, filters.child_involved),
        (CaseRow.subject_account_id, filters.subject_account_id),
        (CaseRow.sla_class, filters.sla_class),
    ):
        if value is not None:
            query = query.where(column == value)
    if filters.category:
        query = query.where(json_array_contains(CaseRow.categories, filters.category))
    if visible_to is not None:
        query = query.where(visible_to_reviewer(visible_to, now or utcnow()))
    return query


def _order(filters: QueueFilters, settings: Settings, now: datetime) -> tuple[Any, bool]:
    """The rank expression of the queue's order, and whether higher ranks first."""
    if filters.sort == "sla":
        return minutes_left_at(now, settings.cases.sla), False
    if filters.sort == "waiting":
        return CaseRow.created_at, False
    return priority_at(now), True


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
    counted = _where(select(func.count()).select_from(CaseRow), filters, visible_to, now)
    total = session.execute(counted).scalar_one()
    # Rank the ids alone (a small sort, however deep the page), then read that page's rows.
    expression, descending = _order(filters, settings, now)
    order = expression.label("rank")
    first = order.desc() if descending else order.asc()
    page = (
        _where(select(CaseRow.id, order, CaseRow.created_at), filters, visible_to, now)
        .order_by(first, CaseRow.created_at, CaseRow.id)
        .offset(filters.offset)
        .limit(filters.limit)
        .subquery()
    )
    ranked = (
        select(CaseRow)
        .join(page, CaseRow.id == page.c.id)
        .order_by(page.c.rank.desc() if descending else page.c.rank.asc(), page.c.created_at, page.c.id)
    )
    rows = session.execute(ranked).scalars().all()
    targets = settings.cases.sla
    return [QueueItem(row, case_priority(row, now), case_sla(row, targets, now)) for row in rows], int(total)


@dataclass(slots=True)
class AccountGroup:
    """The open cases of one account, folded into one queue row."""

    account_id: str
    cases: int
    children_involved: int
    top_priority: float
    top_risk: float
    oldest_at: datetime
    minutes_left: float  # to the most urgent SLA deadline among its cases
    kinds: list[str]


def account_groups(
    session: Session,
    settings: Settings,
    filters: QueueFilters | None = None,
    *,
    visible_to: str | None = None,
    now: datetime | None = None,
) -> tuple[list[AccountGroup], int]:
    """One row per account with matching cases, the account with the highest case priority
    first (or the nearest SLA deadline, or the oldest case), and how many accounts in all."""
    filters = filters or QueueFilters()
    now = now or utcnow()
    rank = priority_at(now)
    left = minutes_left_at(now, settings.cases.sla)
    grouped = _where(
        select(
            CaseRow.subject_account_id.label("account_id"),
            func.count().label("cases"),
            func.sum(case((CaseRow.child_involved, 1), else_=0)).label("children"),
            func.max(rank).label("top_priority"),
            func.max(CaseRow.risk).label("top_risk"),
            func.min(CaseRow.created_at).label("oldest_at"),
            func.min(left).label("minutes_left"),
        ),
        filters,
        visible_to,
        now,
    ).group_by(CaseRow.subject_account_id)
    total = session.execute(select(func.count()).select_from(grouped.subquery())).scalar_one()
    order = {
        "sla": (grouped.selected_columns.minutes_left.asc(),),
        "waiting": (grouped.selected_columns.oldest_at.asc(),),
    }.get(filters.sort, (grouped.selected_columns.top_priority.desc(),))
    rows = session.execute(
        grouped.order_by(*order, CaseRow.subject_account_id).offset(filters.offset).limit(filters.limit)
    ).all()
    kinds: dict[str, set[str]] = {}
    if rows:
        listed = _where(
            select(CaseRow.subject_account_id, CaseRow.kind).where(
                CaseRow.subject_account_id.in_([r.account_id for r in rows])
            ),
            filters,
            visible_to,
            now,
        ).distinct()
        for account_id, kind in session.execute(listed).all():
            kinds.setdefault(account_id, set()).add(kind)
    groups = [
        AccountGroup(
            account_id=r.account_id,
            cases=int(r.cases),
            children_involved=int(r.children or 0),
            top_priority=round(float(r.top_priority or 0.0), 4),
            top_risk=float(r.top_risk or 0.0),
            oldest_at=aware(r.oldest_at) or now,
            minutes_left=float(r.minutes_left or 0.0),
            kinds=sorted(kinds.get(r.account_id, set())),
        )
        for r in rows
    ]
    return groups, int(total)
