"""The message and connection-request engine: store + detector + policy rules.

``MessageEngine.process`` is the one path a message takes from any door (API,
CLI, stream worker) to a stored decision:

1. idempotency: a ``message_id`` already decided returns the stored decision;
2. the conversation's detector state is loaded under a lock (``SELECT ... FOR
   UPDATE`` on PostgreSQL; on SQLite one writer per process, and the engine's
   single writer thread) and the message is scored with the same
   ``ConversationState`` as ``safeguard scan``;
3. account-level risk inputs are recorded (unconnected minors contacted,
   signal categories) and the sender's risk refreshed when they changed;
4. the pure policy rules decide; an escalation is stored with its evidence and
   webhook deliveries queued;
5. decision, state and evidence are committed before the caller responds;
   concurrent messages share one transaction (group commit) to amortise the
   commit and the reads.
"""

from __future__ import annotations

import queue
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from safeguard.accounts import service as accounts
from safeguard.accounts.risk import AccountRisk
from safeguard.config import Settings
from safeguard.ingest.records import Message
from safeguard.policy.models import ConversationRow, EscalationRow, MessageDecisionRow
from safeguard.policy.rules import decide_connection_request, decide_message, is_minor
from safeguard.policy.types import (
    Action,
    ConnectionRequestDecision,
    MessageDecision,
    Party,
    RecipientContext,
)


class Detector(Protocol):
    """What the engine needs of ``safeguard.text`` (see ``load_detector``)."""

    def new_conversation(self, conversation_id: str) -> Any: ...

    def restore_conversation(self, data: dict) -> Any: ...


@dataclass(frozen=True, slots=True)
class MessageEvent:
    """A message as posted to the service: the JSONL fields plus its recipients."""

    conversation_id: str
    message_id: str
    sender_id: str
    text: str
    recipient_ids: tuple[str, ...]
    sent_at: str | None = None
    sender_age_band: str | None = None

    def to_message(self) -> Message:
        """The ``ingest`` record the detector reads."""
        return Message(
            conversation_id=self.conversation_id,
            message_id=self.message_id,
            sender_id=self.sender_id,
            text=self.text,
            sent_at=self.sent_at,
            sender_age_band=self.sender_age_band,
        )


@dataclass(slots=True)
class Outcome:
    """A stored decision (JSON-ready) and whether this call created it."""

    decision: dict
    created: bool
    escalation_ids: list[str] = field(default_factory=list)


class _Pending:
    """One submitted event waiting for its batch to commit."""

    __slots__ = ("event", "future")

    def __init__(self, event: MessageEvent) -> None:
        self.event = event
        self.future: Future[Outcome] = Future()

    def resolve(self, outcome: Outcome) -> None:
        if not self.future.done():
            self.future.set_result(outcome)

    def fail(self, error: BaseException) -> None:
        if not self.future.done():
            self.future.set_exception(error)


def message_decision_dict(decision: MessageDecision, case_id: str | None) -> dict:
    """The JSON form of a message decision (what the API returns and stores)."""
    return {
        "action": decision.action.value,
        "risk": round(float(decision.risk), 6),
        "conversation_risk": round(float(decision.conversation_risk), 6),
        "account_risk": round(float(decision.account_risk), 6),
        "reasons": [r.to_dict() for r in decision.reasons],
        "recipient_actions": {k: v.value for k, v in decision.recipient_actions.items()},
        "warn_recipient": decision.warn_recipient,
        "case_id": case_id,
    }


class _BatchView:
    """What a batch of events needs from the store, read in a few queries up front.

    Effects of earlier events in the batch (a minor's reply confirming contact,
    a conversation's new state, a sender's new account risk) are applied here as
    the batch is processed, so each event is decided as if it had been alone.
    """

    def __init__(
        self,
        session: Session,
        events: list[MessageEvent],
        *,
        lock: bool,
        conversation_ids: list[str] | None = None,
    ) -> None:
        ids = [e.message_id for e in events]
        self.stored: dict[str, dict] = {
            mid: decision
            for mid, decision in session.execute(
                select(MessageDecisionRow.message_id, MessageDecisionRow.decision).where(
                    MessageDecisionRow.message_id.in_(ids)
                )
            ).all()
        }
        fresh = [e for e in events if e.message_id not in self.stored]
        conversation_ids = sorted({e.conversation_id for e in fresh}.union(conversation_ids or ()))
        self.conversations: dict[str, ConversationRow] = {}
        if conversation_ids:
            if lock:
                now = accounts.utcnow()
                stmt = accounts._insert(session, ConversationRow).values(
                    [
                        {"id": c, "state": None, "risk": 0.0, "message_count": 0, "updated_at": now}
                        for c in conversation_ids
                    ]
                )
                session.execute(stmt.on_conflict_do_nothing(index_elements=["id"]))
            query = select(ConversationRow).where(ConversationRow.id.in_(conversation_ids))
            if lock:
                # One lock order in every process: batches cannot deadlock.
                query = query.order_by(ConversationRow.id).with_for_update()
            for row in session.execute(query).scalars():
                self.conversations[row.id] = row
        people_ids = {e.sender_id for e in fresh}
        pairs: set[tuple[str, str]] = set()
        for event in fresh:
            for recipient in event.recipient_ids:
                people_ids.add(recipient)
                pairs.add((event.sender_id, recipient))
                pairs.add((recipient, event.sender_id))
        self.people = accounts.parties(session, sorted(people_ids)) if people_ids else {}
        self.connected = accounts.connected_pairs(session, pairs)
        self.confirmed = accounts.confirmed_pairs(session, pairs)
        self.risk = accounts.cached_account_risks(session, {e.sender_id for e in fresh})
        self.states: dict[str, Any] = {}


class MessageEngine:
    """Scores and decides messages; safe to share between threads.

    Concurrent ``process`` calls are grouped by one writer thread into
    transactions of up to ``max_batch`` events (group commit); each caller
    returns only after the transaction holding its decision has committed.
    """

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        detector: Detector,
        settings: Settings,
        *,
        on_escalation: Callable[[Session, EscalationRow], None] | None = None,
        max_batch: int = 64,
    ) -> None:
        self.session_factory = session_factory
        self.detector = detector
        self.settings = settings
        self.on_escalation = on_escalation
        self.max_batch = max_batch
        bind = session_factory.kw["bind"]
        self.sqlite = bind.dialect.name == "sqlite"
        self._sqlite_writer = threading.RLock()
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._thread_lock = threading.Lock()

    @contextmanager
    def writer(self) -> Iterator[None]:
        """SQLite has one writer: serialise write transactions in this process."""
        if self.sqlite:
            with self._sqlite_writer:
                yield
        else:
            yield

    def submit(self, event: MessageEvent) -> Future[Outcome]:
        """Queue ``event``; the future resolves once its decision is committed."""
        self._ensure_thread()
        pending = _Pending(event)
        self._queue.put(pending)
        return pending.future

    def process(self, event: MessageEvent) -> Outcome:
        """Decide ``event``; returns once the decision is committed."""
        return self.submit(event).result()

    def process_many(self, events: list[MessageEvent]) -> list[Outcome]:
        """Decide ``events`` in order, in one transaction (batch tools, stream workers)."""
        return self._commit([_Pending(e) for e in events], raise_errors=True)

    def close(self) -> None:
        """Stop the writer thread once the queued events are done."""
        with self._thread_lock:
            if self._thread is not None:
                self._queue.put(None)
                self._thread.join(timeout=30)
                self._thread = None

    def _ensure_thread(self) -> None:
        if self._thread is None:
            with self._thread_lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._writer_loop, name="decisions", daemon=True)
                    self._thread.start()

    def _writer_loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)
                    break
                batch.append(item)
            try:
                self._commit(batch, raise_errors=False)
            except BaseException as exc:  # never leave a caller waiting
                for pending in batch:
                    pending.fail(exc)

    def _commit(self, batch: list[_Pending], *, raise_errors: bool) -> list[Outcome]:
        """Run ``batch`` in one transaction; if that fails, each event on its own."""
        try:
            outcomes = self._transaction([p.event for p in batch])
        except Exception:
            outcomes = []
            for pending in batch:
                try:
                    try:
                        outcome = self._transaction([pending.event])[0]
                    except IntegrityError as exc:
                        outcome = self._stored_after_race(pending.event, exc)
                except Exception as error:
                    if raise_errors:
                        raise
                    pending.fail(error)
                    continue
                pending.resolve(outcome)
                outcomes.append(outcome)
            return outcomes
        for pending, outcome in zip(batch, outcomes, strict=True):
            pending.resolve(outcome)
        return outcomes

    def _stored_after_race(self, event: MessageEvent, exc: IntegrityError) -> Outcome:
        """Another process stored this ``message_id`` first: answer with its decision."""
        with self.session_factory() as session:
            stored = session.get(MessageDecisionRow, event.message_id)
        if stored is None:
            raise exc
        return Outcome(stored.decision, created=False)

    def _transaction(self, events: list[MessageEvent]) -> list[Outcome]:
        with self.writer():
            # Decisions and states are written once, at commit; the queries in
            # between read rows written with explicit statements, so no autoflush.
            session = self.session_factory(autoflush=False)
            try:
                view = _BatchView(session, events, lock=not self.sqlite)
                outcomes = [self._decide(session, view, event) for event in events]
                for conversation_id, state in view.states.items():
                    view.conversations[conversation_id].state = state.to_dict()
                session.commit()
                return outcomes
            except BaseException:
                session.rollback()
                raise
            finally:
                session.close()

    def _decide(self, session: Session, view: _BatchView, event: MessageEvent) -> Outcome:
        settings = self.settings
        rules = settings.policy
        if event.message_id in view.stored:
            return Outcome(view.stored[event.message_id], created=False)
        row = view.conversations.get(event.conversation_id)
        state = view.states.get(event.conversation_id)
        if state is None:
            if row is not None and row.state:
                state = self.detector.restore_conversation(row.state)
            else:
                state = self.detector.new_conversation(event.conversation_id)
            view.states[event.conversation_id] = state
        assessment = state.add_message(event.to_message())
        categories = {str(signal.category) for signal in assessment.signals}

        sender_id = event.sender_id
        recipients = [r for r in dict.fromkeys(event.recipient_ids) if r != sender_id]
        people = view.people
        sender = people[sender_id]
        if sender.age_band == "unknown" and event.sender_age_band:
            sender = Party(sender.id, event.sender_age_band, "self_declared")
        connected = {r for r in recipients if (sender_id, r) in view.connected}
        minors = [r for r in recipients if is_minor(people[r], rules)]
        unconnected_minors = [m for m in minors if m not in connected]
        confirmed = {m for m in unconnected_minors if (m, sender_id) in view.confirmed}
        if is_minor(sender, rules):
            # A minor writing to an account is a minor choosing that contact.
            for other in recipients:
                if other not in connected and (sender_id, other) not in view.confirmed:
                    accounts.confirm_contact(session, sender_id, other)
                    view.confirmed.add((sender_id, other))

        changed = accounts.record_contacts(session, sender_id, unconnected_minors, settings)
        tracked = categories.intersection(settings.account_risk.repeated_signal_categories)
        changed |= accounts.record_signals(session, sender_id, event.conversation_id, sorted(tracked))
        if changed:
            account = accounts.refresh_account_risk(session, sender_id, settings)
            view.risk[sender_id] = account
        else:
            account = view.risk.get(sender_id) or AccountRisk(sender_id, 0.0, [])

        decision = decide_message(
            sender,
            [
                RecipientContext(people[r], connected=r in connected, confirmed=r in confirmed)
                for r in recipients
            ],
            message_risk=float(assessment.risk),
            conversation_risk=float(state.risk),
            categories=categories,
            account_risk=account.risk,
            account_reasons=account.reasons,
            settings=settings,
        )
        case_id = None
        escalations: list[str] = []
        if decision.action is Action.ESCALATE:
            escalation = EscalationRow(
                id=uuid.uuid4().hex,
                kind="message",
                subject_account_id=sender_id,
                recipient_ids=recipients,
                conversation_id=event.conversation_id,
                message_id=event.message_id,
                risk=float(state.risk),
                priority=1 if minors else 2,
                reasons=[r.to_dict() for r in decision.reasons],
                evidence=_evidence(state),
                status="open",
                created_at=accounts.utcnow(),
            )
            session.add(escalation)
            case_id = escalation.id
            escalations.append(escalation.id)
            if self.on_escalation is not None:
                self.on_escalation(session, escalation)

        body = message_decision_dict(decision, case_id)
        now = accounts.utcnow()
        if row is None:
            row = ConversationRow(id=event.conversation_id, message_count=0)
            session.add(row)
            view.conversations[event.conversation_id] = row
        row.risk = float(state.risk)
        row.message_count = (row.message_count or 0) + 1
        row.updated_at = now
        session.add(
            MessageDecisionRow(
                message_id=event.message_id,
                conversation_id=event.conversation_id,
                sender_id=sender_id,
                action=decision.action.value,
                risk=body["risk"],
                conversation_risk=body["conversation_risk"],
                decision=body,
                case_id=case_id,
                created_at=now,
            )
        )
        view.stored[event.message_id] = body
        return Outcome(body, created=True, escalation_ids=escalations)

    def update_conversation(self, conversation_id: str, apply: Callable[[Any], None]) -> Any:
        """Change one conversation's detector state under the same lock as messages.

        ``apply`` receives the conversation's state (restored, or new) and changes
        it in place (e.g. records a media event); the state is stored and returned.
        """
        with self.writer():
            session = self.session_factory(autoflush=False)
            try:
                view = _BatchView(session, [], lock=not self.sqlite, conversation_ids=[conversation_id])
                row = view.conversations.get(conversation_id)
                if row is not None and row.state:
                    state = self.detector.restore_conversation(row.state)
                else:
                    state = self.detector.new_conversation(conversation_id)
                apply(state)
                if row is None:
                    row = ConversationRow(id=conversation_id, message_count=0)
                    session.add(row)
                row.state = state.to_dict()
                row.risk = float(state.risk)
                row.updated_at = accounts.utcnow()
                session.commit()
                return state
            except BaseException:
                session.rollback()
                raise
            finally:
                session.close()

    def connection_request(
        self, requester_id: str, target_id: str
    ) -> tuple[ConnectionRequestDecision, str | None]:
        """Decide a connection request; an escalation is stored (case id returned)."""
        with self.writer():
            session = self.session_factory()
            try:
                people = accounts.parties(session, [requester_id, target_id])
                connected = bool(accounts.connected_among(session, requester_id, [target_id]))
                risk = accounts.account_risk(session, requester_id, self.settings)
                decision = decide_connection_request(
                    people[requester_id],
                    people[target_id],
                    connected=connected,
                    requester_account_risk=risk.risk,
                    account_reasons=risk.reasons,
                    settings=self.settings,
                )
                case_id = None
                if decision.action is Action.ESCALATE:
                    escalation = EscalationRow(
                        id=uuid.uuid4().hex,
                        kind="connection_request",
                        subject_account_id=requester_id,
                        recipient_ids=[target_id],
                        risk=risk.risk,
                        priority=1,
                        reasons=[r.to_dict() for r in decision.reasons],
                        evidence={"account_risk": risk.to_dict()},
                        status="open",
                    )
                    session.add(escalation)
                    case_id = escalation.id
                    if self.on_escalation is not None:
                        self.on_escalation(session, escalation)
                session.commit()
                return decision, case_id
            except BaseException:
                session.rollback()
                raise
            finally:
                session.close()


def _evidence(state: Any) -> dict:
    """Case evidence from a conversation state: signals with their excerpts, the stage."""
    signals = [
        {
            "category": getattr(s, "category", None),
            "message_index": getattr(s, "message_index", None),
            "excerpt": getattr(s, "excerpt", None),
            "weight": float(getattr(s, "weight", 0.0) or 0.0),
        }
        for s in list(getattr(state, "signals", []) or [])[-50:]
    ]
    stage = getattr(state, "stage", None)
    return {
        "stage": stage if stage is None or isinstance(stage, str) else str(stage),
        "signals": signals,
        "author_scores": {
            str(k): float(v) for k, v in dict(getattr(state, "author_scores", {}) or {}).items()
        },
    }
