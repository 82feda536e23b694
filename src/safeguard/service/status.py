"""What an operator needs to see of a running deployment: the review backlog by kind, age
and SLA class (with the cases past their first-decision target), decisions per reviewer,
webhook deliveries waiting or given up, and (when a Redis stream is configured) the
stream's lag per partition and its dead letters.

Read from the store (a few aggregate queries) and the stream (one pipeline), never on the
message path: ``/metrics`` and the console's status page (``/console/status``) share one
reading, taken at most once per ``[operations] backlog_cache_seconds``, and ``safeguard
status`` reads once per run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, sessionmaker

from safeguard.cases.models import CaseRow
from safeguard.cases.priority import SLA_CLASSES
from safeguard.cases.sla import target_minutes
from safeguard.config import Settings, SlaTargets
from safeguard.core.clock import aware, utcnow
from safeguard.evidence.models import EvidenceRecord
from safeguard.service.webhooks import WebhookDelivery

AGE_BANDS = ("under_1h", "1h_to_24h", "over_24h")


@dataclass(frozen=True, slots=True)
class KindBacklog:
    """Open cases of one kind: how many, by how long they have waited, the oldest, and how
    many are past their SLA target without a first decision (``overdue``)."""

    kind: str
    open: int
    by_age: dict[str, int]
    oldest_seconds: float
    overdue: int = 0


@dataclass(frozen=True, slots=True)
class SlaBacklog:
    """Open cases of one kind and SLA class: how many, how many are overdue, the oldest, and
    the class's target in minutes (``[cases.sla]``)."""

    kind: str
    sla_class: str
    target_minutes: int
    open: int
    overdue: int
    oldest_seconds: float


@dataclass(frozen=True, slots=True)
class WebhookBacklog:
    """Escalation webhook deliveries by state; ``retrying`` are pending ones that failed before."""

    pending: int = 0
    retrying: int = 0
    failed: int = 0
    delivered: int = 0
    oldest_pending_seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class PartitionLag:
    """One partition stream: entries not yet decided (``backlog``, its XLEN once workers
    trim), read but not acknowledged (``pending``), not yet read (``lag``), and the age
    of its oldest entry."""

    partition: int
    backlog: int
    pending: int
    lag: int | None
    oldest_seconds: float


@dataclass(frozen=True, slots=True)
class StreamStatus:
    """The stream deployment: partitions, dead letters, live workers; ``error`` when unreachable."""

    prefix: str
    partitions: list[PartitionLag] = field(default_factory=list)
    dead_letters: int = 0
    live_workers: int = 0
    error: str | None = None


class StreamProbe(Protocol):
    """Reads a stream deployment (``safeguard.stream.status.RedisStreamProbe``)."""

    def ping(self) -> bool:
        """True when the stream's Redis answers."""
        ...

    def read(self, now: datetime) -> StreamStatus:
        """The stream's state at ``now``."""
        ...


@dataclass(frozen=True, slots=True)
class Status:
    """One reading of the deployment (see the module docstring)."""

    at: str
    cases: list[KindBacklog]
    decisions_window_hours: float
    decisions_by_reviewer: dict[str, int]
    webhooks: WebhookBacklog
    stream: StreamStatus | None = None
    sla: list[SlaBacklog] = field(default_factory=list)

    @property
    def open_cases(self) -> int:
        return sum(k.open for k in self.cases)

    @property
    def overdue_cases(self) -> int:
        return sum(k.overdue for k in self.cases)

    @property
    def oldest_open_seconds(self) -> float:
        return max((k.oldest_seconds for k in self.cases), default=0.0)

    def to_dict(self) -> dict:
        """JSON-ready (``safeguard status --json``)."""
        body = asdict(self)
        body["open_cases"] = self.open_cases
        body["oldest_open_seconds"] = self.oldest_open_seconds
        body["overdue_cases"] = self.overdue_cases
        return body


def _seconds_since(moment: datetime | None, now: datetime) -> float:
    return max(0.0, (now - aware(moment)).total_seconds()) if moment is not None else 0.0


def _overdue(targets: SlaTargets, now: datetime) -> Any:
    """SQL condition: the case is undecided and past its class's first-decision target at ``now``."""
    cutoff = case(
        *(
            (CaseRow.sla_class == name, now - timedelta(minutes=target_minutes(targets, name)))
            for name in SLA_CLASSES
        ),
        else_=now - timedelta(minutes=targets.standard),
    )
    return CaseRow.decided_at.is_(None) & (CaseRow.created_at < cutoff)


def read_backlog(
    session: Session, targets: SlaTargets, now: datetime
) -> tuple[list[KindBacklog], list[SlaBacklog]]:
    """Cases not closed, per kind (counts by age band, overdue, the oldest) and per kind and
    SLA class, from one grouped query."""
    hour_ago, day_ago = now - timedelta(hours=1), now - timedelta(hours=24)
    created = CaseRow.created_at
    rows = session.execute(
        select(
            CaseRow.kind,
            CaseRow.sla_class,
            func.count(),
            func.min(created),
            func.sum(case((created >= hour_ago, 1), else_=0)),
            func.sum(case(((created < hour_ago) & (created >= day_ago), 1), else_=0)),
            func.sum(case((_overdue(targets, now), 1), else_=0)),
        )
        .where(CaseRow.status != "closed")
        .group_by(CaseRow.kind, CaseRow.sla_class)
        .order_by(CaseRow.kind, CaseRow.sla_class)
    ).all()
    kinds: dict[str, list[int]] = {}  # open, under 1 h, 1-24 h, overdue
    oldest: dict[str, float] = {}
    by_class = []
    for kind, sla_class, count, first, recent, today, overdue in rows:
        kind, sla_class = str(kind), str(sla_class or "standard")
        counts = (int(count), int(recent or 0), int(today or 0), int(overdue or 0))
        totals = kinds.setdefault(kind, [0, 0, 0, 0])
        for i, value in enumerate(counts):
            totals[i] += value
        waited = _seconds_since(first, now)
        oldest[kind] = max(oldest.get(kind, 0.0), waited)
        target = target_minutes(targets, sla_class)
        by_class.append(SlaBacklog(kind, sla_class, target, counts[0], counts[3], waited))
    backlog = []
    for kind, (count, recent, today, overdue) in kinds.items():
        by_age = dict(zip(AGE_BANDS, (recent, today, count - recent - today), strict=True))
        backlog.append(KindBacklog(kind, count, by_age, oldest[kind], overdue))
    return backlog, by_class


def read_reviewer_decisions(session: Session, since: datetime) -> dict[str, int]:
    """Decisions recorded in the evidence chain since ``since``, per reviewer (actor)."""
    rows = session.execute(
        select(EvidenceRecord.actor, func.count())
        .where(
            EvidenceRecord.action == "decision",
            EvidenceRecord.at >= since.isoformat(timespec="microseconds"),
        )
        .group_by(EvidenceRecord.actor)
        .order_by(func.count().desc(), EvidenceRecord.actor)
    ).all()
    return {str(actor): int(count) for actor, count in rows}


def read_webhooks(session: Session, now: datetime) -> WebhookBacklog:
    """Webhook deliveries per state, and how long the oldest pending one has waited."""
    counts: dict[str, int] = {}
    retrying = 0
    for status, attempts, count in session.execute(
        select(WebhookDelivery.status, WebhookDelivery.attempts, func.count()).group_by(
            WebhookDelivery.status, WebhookDelivery.attempts
        )
    ).all():
        counts[status] = counts.get(status, 0) + int(count)
        if status == "pending" and attempts:
            retrying += int(count)
    oldest = session.execute(
        select(func.min(WebhookDelivery.created_at)).where(WebhookDelivery.status == "pending")
    ).scalar()
    return WebhookBacklog(
        pending=counts.get("pending", 0),
        retrying=retrying,
        failed=counts.get("failed", 0),
        delivered=counts.get("delivered", 0),
        oldest_pending_seconds=_seconds_since(oldest, now),
    )


def read_status(
    session: Session, settings: Settings, stream: StreamProbe | None = None, now: datetime | None = None
) -> Status:
    """Everything in :class:`Status`, read now."""
    now = now or utcnow()
    window = settings.operations.decisions_window_hours
    cases, sla = read_backlog(session, settings.cases.sla, now)
    return Status(
        at=now.isoformat(timespec="seconds"),
        cases=cases,
        decisions_window_hours=window,
        decisions_by_reviewer=read_reviewer_decisions(session, now - timedelta(hours=window)),
        webhooks=read_webhooks(session, now),
        stream=stream.read(now) if stream is not None else None,
        sla=sla,
    )


class StatusReader:
    """The latest :class:`Status`, read again when older than ``max_age`` seconds."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        settings: Settings,
        stream: StreamProbe | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.session_factory = session_factory
        self.settings = settings
        self.stream = stream
        self._clock = clock
        self._lock = threading.Lock()
        self._latest: tuple[float, Status] | None = None

    def read(self, max_age: float | None = None) -> Status:
        """A reading at most ``max_age`` seconds old (default ``backlog_cache_seconds``)."""
        max_age = self.settings.operations.backlog_cache_seconds if max_age is None else max_age
        with self._lock:
            if self._latest is not None and self._clock() - self._latest[0] < max_age:
                return self._latest[1]
            with self.session_factory() as session:
                status = read_status(session, self.settings, self.stream)
            self._latest = (self._clock(), status)
            return status
