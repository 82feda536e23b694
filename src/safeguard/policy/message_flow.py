"""The one decision step every door shares: one message event, in its batch, to an outcome.

:func:`decide_in_batch` takes an event and the :class:`~safeguard.policy.batch_view.BatchView`
of its batch, and in order:

1. replays the decision already stored under the event's key (or names the field in
   which a reused key differs: ``policy.idempotency``);
2. scores the message with its conversation's detector state and the age bands the
   store knows (the sender's stored band stands in when the event carries none);
3. works out each recipient's relation to the sender (connected, a minor, confirmed);
   a minor writing to an account confirms that contact at once;
4. records the account-risk inputs (unconnected minors contacted, signal categories)
   and refreshes the sender's account risk when they changed;
5. decides with the pure rules (:func:`safeguard.policy.rules.decide_message`);
   an escalation is stored with its evidence (``on_escalation`` opens its case and
   queues webhooks, in the same transaction);
6. queues the decision row and returns the outcome.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from safeguard.accounts import service as accounts
from safeguard.accounts.risk import AccountRisk
from safeguard.config import Settings
from safeguard.core.clock import utcnow
from safeguard.core.types import Party
from safeguard.linking import service as linking
from safeguard.policy import context_window
from safeguard.policy.batch_view import BatchView
from safeguard.policy.events import Detector, MessageEvent, Outcome
from safeguard.policy.idempotency import conflicting_field, request_digest
from safeguard.policy.models import EscalationRow
from safeguard.policy.rules import decide_message, is_minor
from safeguard.policy.types import Action, MessageDecision, RecipientContext
from safeguard.store.batch import StoredDecision

EscalationHook = Callable[[Session, EscalationRow], None]
SELF_HARM_CUE_REASON = "demands self-harm"  # the lexicon's name of the self_harm cue


@dataclass(frozen=True, slots=True)
class Flow:
    """What the decision step needs besides the batch: the detector, the settings, and
    what to do with an escalation once stored (open its case, queue webhooks)."""

    detector: Detector
    settings: Settings
    on_escalation: EscalationHook | None = None


@dataclass(slots=True)
class Relations:
    """A message's recipients and how each relates to the sender."""

    sender: Party
    recipients: list[str]
    connected: set[str]
    minors: list[str]
    unconnected_minors: list[str]
    confirmed: set[str]


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
        **_danger_fields(decision),
    }


def _danger_fields(decision: MessageDecision) -> dict:
    """Support text and platform actions, present only when a child is in danger."""
    if decision.support is None:
        return {}
    return {
        "support": decision.support,
        "platform_actions": [a.to_dict() for a in decision.platform_actions],
    }


def stored_outcome(stored: StoredDecision, event: MessageEvent) -> Outcome:
    """The replay of ``stored`` for ``event``, or a conflict when ``event`` is another request."""
    conflict = conflicting_field(
        stored.sender_id,
        stored.request_digest,
        conversation_id=event.conversation_id,
        message_id=event.message_id,
        sender_id=event.sender_id,
        recipient_ids=event.recipient_ids,
        text=event.text,
    )
    return Outcome(stored.decision, created=False, conflict=conflict)


def decide_in_batch(view: BatchView, event: MessageEvent, flow: Flow) -> Outcome:
    """Decide ``event`` as the next one of its batch (see the module docstring)."""
    key = (event.conversation_id, event.message_id)
    stored = view.stored.get(key)
    if stored is not None:
        return stored_outcome(stored, event)
    conversation = view.conversation(flow.detector, event.conversation_id)
    state = conversation.state
    relations = _relations(view, event, flow.settings)
    assessment = assess(
        state, event, relations.sender.age_band, [view.people[r].age_band for r in relations.recipients]
    )
    categories = {str(signal.category) for signal in assessment.signals}
    self_harm = "coercion" in categories and any(
        getattr(s, "reason", "") == SELF_HARM_CUE_REASON for s in assessment.signals
    )
    if is_minor(relations.sender, flow.settings.policy):
        _confirm_minor_contacts(view, relations)
    account = _account_risk(view, event, relations, categories, flow.settings)
    decision = decide_message(
        relations.sender,
        [
            RecipientContext(
                view.people[r], connected=r in relations.connected, confirmed=r in relations.confirmed
            )
            for r in relations.recipients
        ],
        message_risk=float(assessment.risk),
        conversation_risk=float(state.risk),
        categories=categories,
        account_risk=account.risk,
        account_reasons=account.reasons,
        self_harm=self_harm,
        settings=flow.settings,
    )
    case_id = None
    if decision.action is Action.ESCALATE:
        case_id = _escalate(view, event, relations, decision, state, flow.on_escalation)
    context_window.observe(
        view.writing_session, event, risk=float(assessment.risk), flagged=bool(categories), case_id=case_id
    )
    conversation.message_count += 1
    body = _record(view, event, decision, case_id)
    return Outcome(body, created=True, escalation_ids=[case_id] if case_id else [])


def assess(state: Any, event: MessageEvent, sender_band: str, recipient_bands: list[str]) -> Any:
    """Score the message with its conversation state and the age bands the store knows.

    The sender's stored band stands in when the event carries none, and the
    recipients' bands tell the state a child is being written to.
    """
    message = event.to_message()
    if message.sender_age_band is None and sender_band != "unknown":
        message = dataclasses.replace(message, sender_age_band=sender_band)
    try:
        return state.add_message(message, recipient_age_bands=recipient_bands)
    except TypeError:  # a detector state that does not take recipient bands
        return state.add_message(message)


def _relations(view: BatchView, event: MessageEvent, settings: Settings) -> Relations:
    sender_id = event.sender_id
    recipients = [r for r in dict.fromkeys(event.recipient_ids) if r != sender_id]
    sender = view.people[sender_id]
    if sender.age_band == "unknown" and event.sender_age_band:
        sender = Party(sender.id, event.sender_age_band, "self_declared")
    connected = {r for r in recipients if (sender_id, r) in view.connected}
    minors = [r for r in recipients if is_minor(view.people[r], settings.policy)]
    unconnected = [m for m in minors if m not in connected]
    confirmed = {m for m in unconnected if (m, sender_id) in view.confirmed}
    return Relations(sender, recipients, connected, minors, unconnected, confirmed)


def _confirm_minor_contacts(view: BatchView, relations: Relations) -> None:
    """A minor writing to an account is a minor choosing that contact."""
    sender_id = relations.sender.id
    for other in relations.recipients:
        if other not in relations.connected and (sender_id, other) not in view.confirmed:
            accounts.confirm_contact(view.writing_session(), sender_id, other)
            view.confirmed.add((sender_id, other))


def _account_risk(
    view: BatchView, event: MessageEvent, relations: Relations, categories: set[str], settings: Settings
) -> AccountRisk:
    """Record the risk inputs; the sender's account risk, refreshed when they changed."""
    sender_id = event.sender_id
    changed = view.record_contacts(sender_id, relations.unconnected_minors)
    tracked = categories.intersection(settings.account_risk.repeated_signal_categories)
    changed |= view.record_signals(sender_id, event.conversation_id, sorted(tracked))
    changed |= _link_script(view, event, relations, categories, settings)
    if not changed:
        return view.risk.get(sender_id) or AccountRisk(sender_id, 0.0, [])
    view.flush_inputs()
    account = accounts.refresh_account_risk(view.writing_session(), sender_id, settings)
    view.risk[sender_id] = account
    return account


def _link_script(
    view: BatchView, event: MessageEvent, relations: Relations, categories: set[str], settings: Settings
) -> bool:
    """Fingerprint a scripted sextortion/coercion message; True when it reaches enough children."""
    limits = settings.account_risk
    if not limits.script_linking_enabled or not linking.should_fingerprint(categories):
        return False
    result = linking.record_message(
        view.writing_session(),
        sender_id=event.sender_id,
        recipient_ids=relations.recipients,
        conversation_id=event.conversation_id,
        text=event.text,
        window_hours=limits.window_hours,
    )
    return result.children >= limits.script_linking_children


def _escalate(
    view: BatchView,
    event: MessageEvent,
    relations: Relations,
    decision: MessageDecision,
    state: Any,
    on_escalation: EscalationHook | None,
) -> str:
    """Store the escalation with its evidence; its id is the case id the decision names."""
    session = view.writing_session()
    escalation = EscalationRow(
        id=uuid.uuid4().hex,
        kind="message",
        subject_account_id=event.sender_id,
        recipient_ids=relations.recipients,
        conversation_id=event.conversation_id,
        message_id=event.message_id,
        risk=float(state.risk),
        priority=decision.priority if decision.priority is not None else (1 if relations.minors else 2),
        reasons=[r.to_dict() for r in decision.reasons],
        evidence=evidence_of(state),
        status="open",
        created_at=utcnow(),
    )
    session.add(escalation)
    if on_escalation is not None:
        on_escalation(session, escalation)
    return escalation.id


def _record(view: BatchView, event: MessageEvent, decision: MessageDecision, case_id: str | None) -> dict:
    """Queue the decision row (and remember it for later events of the batch); its JSON body."""
    body = message_decision_dict(decision, case_id)
    digest = request_digest(event.conversation_id, event.message_id, event.recipient_ids, event.text)
    view.decisions.append(
        {
            "message_id": event.message_id,
            "conversation_id": event.conversation_id,
            "sender_id": event.sender_id,
            "action": body["action"],
            "risk": body["risk"],
            "conversation_risk": body["conversation_risk"],
            "decision": body,
            "case_id": case_id,
            "created_at": utcnow(),
            "request_digest": digest,
        }
    )
    view.stored[(event.conversation_id, event.message_id)] = StoredDecision(body, event.sender_id, digest)
    return body


def evidence_of(state: Any) -> dict:
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
