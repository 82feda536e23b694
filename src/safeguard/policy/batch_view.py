"""A batch of events as it is decided: what the store read, and what the batch will write.

Effects of earlier events in the batch (a minor's reply confirming contact, a
conversation's new state, a sender's new account risk, first contacts and
signals) are applied here as the batch is processed, so each event is decided
as if it had been alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from safeguard.accounts.risk import AccountRisk
from safeguard.config import Settings
from safeguard.core.clock import utcnow
from safeguard.policy.events import Detector, MessageEvent
from safeguard.store.batch import (
    BatchRequest,
    BatchSnapshot,
    BatchStore,
    BatchWrites,
    StoredDecision,
    add_signals,
    insert_contacts,
)


class NeedsLock(Exception):
    """A batch decided without the write lock reached a step that writes at once."""


def batch_request(
    events: list[MessageEvent], settings: Settings, conversation_ids: list[str] | None = None
) -> BatchRequest:
    """What ``events`` (and ``conversation_ids``) need from the store."""
    limits = settings.account_risk
    return BatchRequest(
        keys=frozenset((e.conversation_id, e.message_id) for e in events),
        conversation_ids=sorted({e.conversation_id for e in events}.union(conversation_ids or ())),
        people=sorted({e.sender_id for e in events} | {r for e in events for r in e.recipient_ids}),
        sender_pairs=frozenset((e.sender_id, r) for e in events for r in e.recipient_ids if r != e.sender_id),
        sender_conversations=frozenset((e.sender_id, e.conversation_id) for e in events),
        categories=tuple(limits.repeated_signal_categories),
        since=utcnow() - timedelta(hours=limits.window_hours),
    )


@dataclass(slots=True)
class Conversation:
    """A conversation as read at the start of a batch, and its state once loaded."""

    stored_state: dict | None
    message_count: int
    version: int | None  # None: no row yet
    state: Any = None


class BatchView:
    """The batch's reads (a :class:`~safeguard.store.batch.BatchSnapshot`), its pending
    writes, and the session for the writes some events make at once (none while the
    batch is decided without locks: ``optimistic``)."""

    def __init__(self, snapshot: BatchSnapshot, session: Session | None = None, *, optimistic: bool = False):
        self.session = session
        self.optimistic = optimistic
        self.stored: dict[tuple[str, str], StoredDecision] = snapshot.decisions
        self.conversations = {
            cid: Conversation(row.state, row.message_count, row.version)
            for cid, row in snapshot.conversations.items()
        }
        self.people = snapshot.people
        self.connected = snapshot.connected
        self.confirmed = snapshot.confirmed
        self.risk: dict[str, AccountRisk] = {
            aid: AccountRisk(aid, cached.risk, cached.reasons) for aid, cached in snapshot.risks.items()
        }
        self.contacted = snapshot.contacted
        self.signals_seen = snapshot.signals_seen
        self.new_contacts: list[tuple[str, str]] = []
        self.new_signals: dict[tuple[str, str, str], int] = {}
        self.decisions: list[dict] = []

    @classmethod
    def load(
        cls,
        store: BatchStore,
        session: Session,
        request: BatchRequest,
        *,
        lock: bool,
        optimistic: bool = False,
    ) -> BatchView:
        """Read what ``request`` needs in one round trip (conversations locked with ``lock``)."""
        snapshot = store.read(session.connection(), request, lock=lock)
        return cls(snapshot, session, optimistic=optimistic)

    def writing_session(self) -> Session:
        """The session for a write made while deciding; a batch decided without locks
        (``optimistic``) cannot make one and is decided again under them."""
        if self.optimistic or self.session is None:
            raise NeedsLock
        return self.session

    def conversation(self, detector: Detector, conversation_id: str) -> Conversation:
        """The conversation, its detector state restored (or started) on first use."""
        entry = self.conversations.get(conversation_id)
        if entry is None:
            entry = self.conversations[conversation_id] = Conversation(None, 0, None)
        if entry.state is None:
            if entry.stored_state:
                entry.state = detector.restore_conversation(entry.stored_state)
            else:
                entry.state = detector.new_conversation(conversation_id)
        return entry

    def record_contacts(self, sender_id: str, minors: list[str]) -> bool:
        """Queue contact events; True when a minor is new to this sender in the window."""
        new = False
        for minor in minors:
            self.new_contacts.append((sender_id, minor))
            if (sender_id, minor) not in self.contacted:
                self.contacted.add((sender_id, minor))
                new = True
        return new

    def record_signals(self, sender_id: str, conversation_id: str, categories: list[str]) -> bool:
        """Queue signal counts; True when a category is new to this sender's conversation."""
        new = False
        for category in categories:
            key = (sender_id, conversation_id, category)
            self.new_signals[key] = self.new_signals.get(key, 0) + 1
            if key not in self.signals_seen:
                self.signals_seen.add(key)
                new = True
        return new

    def flush_inputs(self) -> None:
        """Write queued contacts and signals now (before account risk is recounted)."""
        connection = self.writing_session().connection()
        now = utcnow()
        insert_contacts(connection, self.new_contacts, now)
        add_signals(connection, self.new_signals, now)
        self.new_contacts, self.new_signals = [], {}

    def versions(self) -> dict[str, int | None]:
        """The versions read of the conversations the batch changed (the optimistic check)."""
        return {cid: entry.version for cid, entry in self.conversations.items() if entry.state is not None}

    def writes(self) -> BatchWrites:
        """Everything the batch stores: decisions, conversation rows in id order, account inputs."""
        now = utcnow()
        conversations = [
            {
                "id": cid,
                "state": entry.state.to_dict(),
                "risk": float(entry.state.risk),
                "message_count": entry.message_count,
                "updated_at": now,
                "version": (entry.version or 0) + 1,
            }
            for cid, entry in sorted(self.conversations.items())  # one lock order everywhere
            if entry.state is not None
        ]
        return BatchWrites(self.decisions, conversations, self.new_contacts, self.new_signals, now)
