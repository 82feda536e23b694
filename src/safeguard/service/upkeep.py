"""Sealing and purging as the service's maintenance task (and the CLI) run them.

``seal`` digests the message decisions that are due and signs a checkpoint
of the head; ``purge_decisions`` runs the retention purge and records in the
chain what it removed from ``message_decisions``. Hashing happens on read
sessions; the write lock is held only to append and delete.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from safeguard.config import Settings
from safeguard.core.clock import utcnow
from safeguard.evidence import chain
from safeguard.evidence.checkpoints import (
    WEBHOOK_EVENT,
    CheckpointWritten,
    ensure_consistent,
    write_checkpoint,
)
from safeguard.evidence.decision_digest import PURGE_ACTION
from safeguard.evidence.decision_sealing import (
    append_digests,
    last_seq,
    plan_digests,
    plan_purge,
    record_purge,
)

Writer = Callable[[], AbstractContextManager[None]]


@dataclass(slots=True)
class SealResult:
    """Digest records appended and the checkpoint written (None when the head had not moved)."""

    digest_seqs: list[int] = field(default_factory=list)
    checkpoint: CheckpointWritten | None = None


def seal(
    session_factory: sessionmaker[Session],
    settings: Settings,
    *,
    writer: Writer = nullcontext,
    actor: str = "system",
    only_if_moved: bool = False,
    now: datetime | None = None,
) -> SealResult:
    """Digest the decisions due at ``now``, then sign and export a checkpoint of the head.

    Raises ``CheckpointRefused``, before appending anything, when the chain contradicts the
    last checkpoint.
    """
    from safeguard.service.webhooks import enqueue

    result = SealResult()
    now = now or utcnow()
    with session_factory() as session:
        ensure_consistent(session, settings)
        after, payloads = plan_digests(session, settings, now)
    if payloads:
        with writer(), session_factory() as session:
            result.digest_seqs = append_digests(session, after, payloads, actor)
            session.commit()
    with session_factory() as session:
        result.checkpoint = write_checkpoint(session, settings, only_if_moved=only_if_moved)
    if result.checkpoint is not None and any(WEBHOOK_EVENT in t.events for t in settings.webhooks.targets):
        with writer(), session_factory() as session:
            body = result.checkpoint.checkpoint.to_dict()
            result.checkpoint.webhooks = enqueue(session, settings.webhooks, WEBHOOK_EVENT, body)
            session.commit()
    return result


@dataclass(slots=True)
class PurgeOutcome:
    """Rows deleted per table, and the chain record of the decisions removed."""

    counts: dict[str, int] = field(default_factory=dict)
    record_seq: int | None = None
    changed_ranges: list[dict] = field(default_factory=list)
    skipped: bool = False


def purge_decisions(
    session_factory: sessionmaker[Session],
    settings: Settings,
    purge: Callable[[Session, Settings, datetime], dict],
    *,
    writer: Writer = nullcontext,
    actor: str = "system",
    now: datetime | None = None,
) -> PurgeOutcome:
    """Run the retention ``purge`` at ``now`` and record in the chain what it removed from
    ``message_decisions`` (skipped, for the next run, when another process purged meanwhile)."""
    now = now or utcnow()
    with session_factory() as session:
        plan = plan_purge(session, settings, now)
    outcome = PurgeOutcome(changed_ranges=plan.changed)
    with writer(), session_factory() as session:
        chain.lock_head(session)
        if last_seq(session, PURGE_ACTION) != plan.purge_seq:
            outcome.skipped = True
            return outcome
        outcome.counts = purge(session, settings, now)
        record = record_purge(
            session,
            plan,
            int(outcome.counts.get("message_decisions", 0)),
            settings.retention.decisions_days,
            actor,
        )
        outcome.record_seq = record.seq if record is not None else None
        session.commit()
    return outcome
