"""Media decisions: known-abuse bank matches, then nudity protection for child accounts.

:func:`decide_media` is the one way a media item is decided, whichever door it
came through (``POST /v1/media`` uploads and hash-only submissions, stream
workers' media events):

1. hashes: computed in memory from the uploaded bytes, or taken as sent. An
   upload over the ``[media]`` limits (a side, the pixel count) is refused, from
   its header and before decoding, with :class:`InputError` (``field='file'``);
2. bank match: a match blocks the media and escalates (a case is opened, the
   sender's account risk is refreshed). A match takes precedence over the rest;
3. nudity: when the sender or a recipient is a protected account (stored age
   band, ``child``/``teen`` by default), the image is scored in memory with
   :func:`safeguard.media.nudity.analyse_image` (or a hash-only submission's
   device-computed ``nudity_score`` is used) and decided with
   :func:`safeguard.media.nudity.decide_image_for_minor`: ``blur_and_warn`` for
   protected recipients, ``warn_before_send`` for a protected sender. An upload
   that cannot be screened (the optional ``nudity`` extra is missing:
   ``nudity_unavailable``; the model failed, or the image is more elongated than
   ``[media] max_screen_aspect``: ``nudity_unscreened``) is never silently
   allowed: by default (``[media] unscreened_images = "protect"``) it gets the
   same protective actions, with a reason saying why it was not screened; with
   ``"refuse"`` it is refused (:class:`InputError`, ``field='file'``);
4. conversation: with a ``conversation_id``, the image (ids, bands, score) is
   recorded in that conversation's detector state, so nudity sent to a child, or
   sent by a child after an adult's repeated requests, raises the conversation's
   ``sexual_content`` / ``coercion`` risk.

Only the decision, the score and the hashes are kept: the image is never written
to disk or the store.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.orm import Session

from safeguard.accounts import service as accounts
from safeguard.config import Settings
from safeguard.errors import InputError
from safeguard.media import nudity
from safeguard.media.hashing import ImageLimits
from safeguard.policy.models import EscalationRow
from safeguard.policy.rules import is_minor
from safeguard.policy.types import Action, Party, Reason

if TYPE_CHECKING:
    import numpy as np

__all__ = ["MediaSubmission", "decide_media", "nudity_block"]

log = logging.getLogger(__name__)

Scorer = Callable[["np.ndarray"], float]

# The overall action a client acting on ``action`` alone should take for a nudity decision.
NUDITY_ACTIONS: dict[str, Action] = {
    "blur_and_warn": Action.WARN_RECIPIENT,
    "warn_before_send": Action.REQUIRE_CONFIRMATION,
    "allow": Action.ALLOW,
}


class MediaSubmission(Protocol):
    """What :func:`decide_media` reads of a submission (``MediaHashesIn`` has it all).

    ``nudity_score`` and ``conversation_id`` are optional (read with ``getattr``).
    """

    sender_id: str
    recipient_ids: Sequence[str]
    message_id: str | None
    pdq: str | None
    md5: str | None
    sha256: str | None


def decide_media(
    submission: MediaSubmission,
    data: bytes | None = None,
    *,
    write: Callable[[], AbstractContextManager[Session]],
    settings: Settings,
    on_escalation: Callable[[Session, EscalationRow], None] | None = None,
    metrics: Any | None = None,
    update_conversation: Callable[[str, Callable[[Any], Any]], Any] | None = None,
    nudity_scorer: Scorer | None = None,
) -> dict[str, Any]:
    """Decide one media item; returns the JSON decision (``POST /v1/media``'s body).

    ``write`` opens the write transaction (committed when the block exits);
    ``update_conversation(conversation_id, apply)`` changes a conversation's
    detector state under the engine's lock (``MessageEngine.update_conversation``);
    ``nudity_scorer`` replaces NudeNet (tests, or another model). Raises
    :class:`InputError` (``field='file'``) when ``data`` is not a readable image,
    is over the ``[media]`` limits, or (with ``unscreened_images = "refuse"``)
    cannot be screened while a child or teen account takes part.
    """
    hashes, computed = _hashes(submission, data, _limits(settings))
    device_score = getattr(submission, "nudity_score", None)
    screen = data is not None or device_score is not None
    recipient_ids = [r for r in dict.fromkeys(submission.recipient_ids) if r != submission.sender_id]
    reasons: list[Reason] = []
    people: dict[str, Party] = {}
    case_id = None
    with write() as session:
        found = _matches(session, hashes)
        if found:
            action = Action.ESCALATE
            case_id = _escalate(session, submission, hashes, found, reasons, settings, on_escalation)
        else:
            action = Action.ALLOW
            if hashes["too_weak"]:
                reasons.append(
                    Reason(
                        "pdq_too_weak",
                        "image has too little detail for PDQ matching; exact hashes were checked",
                    )
                )
            if screen:
                people = accounts.parties(session, [submission.sender_id, *recipient_ids])
    body: dict[str, Any] = {
        "action": action.value,
        "hashes": hashes,
        "matches": found,
        "reasons": [],
        "case_id": case_id,
    }
    if people:
        # Outside the write transaction: scoring an image takes a while.
        sender, recipients = people[submission.sender_id], [people[r] for r in recipient_ids]
        decision = _nudity_decision(data, device_score, sender, recipients, computed, settings, nudity_scorer)
        if decision is not None:
            body["nudity"] = nudity_block(
                decision, recipients, settings, source="device" if data is None else "server"
            )
            reasons.extend(decision.reasons)
            body["action"] = max(action, NUDITY_ACTIONS[decision.action], key=lambda a: a.severity).value
            conversation_id = getattr(submission, "conversation_id", None)
            if decision.screened and conversation_id and update_conversation is not None:
                reasons.extend(
                    _record_in_conversation(
                        update_conversation, conversation_id, submission, sender, recipients, decision
                    )
                )
    body["reasons"] = [r.to_dict() for r in reasons]
    if metrics is not None:
        metrics.decisions.labels("media", body["action"]).inc()
    return body


def nudity_block(
    decision: nudity.ImageDecision, recipients: Sequence[Party], settings: Settings, *, source: str
) -> dict[str, Any]:
    """The response's ``nudity`` object: score, action and the text to show, per recipient too."""
    rules = settings.policy
    text = {"blur_and_warn": decision.recipient_text, "warn_before_send": decision.sender_text}.get(
        decision.action
    )
    blur = decision.recipient_action != "allow"
    return {
        "screened": decision.screened,
        "score": None if decision.score is None else round(decision.score, 4),
        "threshold": decision.threshold,
        "action": decision.action,
        "text": text,
        "sender_action": decision.sender_action,
        "sender_text": decision.sender_text,
        "recipient_action": decision.recipient_action,
        "recipient_text": decision.recipient_text,
        "recipient_actions": {
            r.id: "blur_and_warn" if blur and is_minor(r, rules) else "allow" for r in recipients
        },
        "source": source,
    }


# --------------------------------------------------------------------------- steps


def _limits(settings: Settings) -> ImageLimits:
    return ImageLimits(max_side=settings.media.max_image_side, max_pixels=settings.media.max_image_pixels)


def _hashes(
    submission: MediaSubmission, data: bytes | None, limits: ImageLimits
) -> tuple[dict[str, Any], Any]:
    if data is None:
        return {
            "pdq": submission.pdq.lower() if submission.pdq else None,
            "pdq_quality": None,
            "md5": submission.md5.lower() if submission.md5 else None,
            "sha256": submission.sha256.lower() if submission.sha256 else None,
            "too_weak": False,
        }, None
    from safeguard.media.hashing import hash_image_bytes

    try:
        computed = hash_image_bytes(data, limits=limits)
    except InputError as exc:
        raise InputError(exc.reason, field="file") from None
    return {
        "pdq": computed.pdq,
        "pdq_quality": computed.pdq_quality,
        "md5": computed.md5,
        "sha256": computed.sha256,
        "too_weak": bool(computed.too_weak),
    }, computed


def _matches(session: Session, hashes: dict[str, Any]) -> list[dict[str, Any]]:
    from safeguard.media.matching import match_hashes

    matches = match_hashes(
        session,
        pdq=None if hashes["too_weak"] else hashes["pdq"],
        md5=hashes["md5"],
        sha256=hashes["sha256"],
    )
    return [
        {
            "bank": str(m.bank),
            "entry_id": str(m.entry_id),
            "signal_type": str(m.signal_type),
            "distance": int(m.distance),
            "category": m.category,
            "source": m.source,
            "external_id": m.external_id,
        }
        for m in matches
    ]


def _escalate(
    session: Session,
    submission: MediaSubmission,
    hashes: dict[str, Any],
    found: list[dict[str, Any]],
    reasons: list[Reason],
    settings: Settings,
    on_escalation: Callable[[Session, EscalationRow], None] | None,
) -> str:
    reasons.append(
        Reason(
            "hash_bank_match",
            f"matches {len(found)} bank entr{'y' if len(found) == 1 else 'ies'}"
            f" ({', '.join(sorted({m['bank'] for m in found}))}): blocked and escalated",
            submission.sender_id,
        )
    )
    for match in found:
        accounts.record_media_match(
            session, submission.sender_id, match["bank"], match["entry_id"], match["category"]
        )
    session.flush()
    accounts.refresh_account_risk(session, submission.sender_id, settings)
    # Known abuse media sent to or by a child is a child in danger now (SLA class
    # child_in_danger); between adults it is known_abuse_media, with its own target.
    people = accounts.parties(session, [submission.sender_id, *submission.recipient_ids])
    child_takes_part = any(is_minor(p, settings.policy) for p in people.values())
    escalation = EscalationRow(
        id=uuid.uuid4().hex,
        kind="media",
        subject_account_id=submission.sender_id,
        recipient_ids=list(submission.recipient_ids),
        message_id=submission.message_id,
        risk=1.0,
        priority=0 if child_takes_part else 1,
        reasons=[r.to_dict() for r in reasons],
        evidence={"hashes": hashes, "matches": found},
        status="open",
    )
    session.add(escalation)
    if on_escalation is not None:
        on_escalation(session, escalation)
    return escalation.id


def _nudity_decision(
    data: bytes | None,
    device_score: float | None,
    sender: Party,
    recipients: list[Party],
    computed: Any,
    settings: Settings,
    scorer: Scorer | None,
) -> nudity.ImageDecision | None:
    """The nudity decision when a protected account takes part, else None.

    An upload that could not be screened gets the protective decision
    (:func:`safeguard.media.nudity.decide_unscreened_image`), or is refused.
    """
    rules = settings.policy
    if not (is_minor(sender, rules) or any(is_minor(r, rules) for r in recipients)):
        return None
    options: dict[str, Any] = {
        "sender_band": sender.age_band,
        "recipient_bands": [r.age_band for r in recipients],
        "protected_bands": tuple(rules.protected_bands),
        "treat_unknown_as_minor": rules.treat_unknown_as_minor,
        "sender_id": sender.id,
        "threshold": rules.nudity_threshold,
    }
    if data is None:
        return nudity.decide_image_for_minor(float(device_score or 0.0), **options)
    try:
        if scorer is None:
            scorer = nudity.default_scorer()
        return nudity.analyse_image(
            data,
            scorer=scorer,
            hashes=computed,
            limits=_limits(settings),
            max_aspect=settings.media.max_screen_aspect,
            **options,
        )
    except nudity.NudityUnavailable:
        code = "nudity_unavailable"
        why = "nudity screening is unavailable on this server (the optional 'nudity' extra is not installed)"
    except nudity.ImageUnscreenable as exc:
        code, why = "nudity_unscreened", exc.reason
    except Exception as exc:  # a broken model must not stop the bank match's answer, nor allow
        log.exception("nudity screening failed")
        code, why = "nudity_unscreened", f"nudity screening failed ({type(exc).__name__})"
    if settings.media.unscreened_images == "refuse":
        raise InputError(
            f"{why}, and a child or teen account takes part: the image is refused "
            "(media.unscreened_images = 'refuse')",
            field="file",
        )
    return nudity.decide_unscreened_image(code, why, **options)


def _record_in_conversation(
    update_conversation: Callable[[str, Callable[[Any], Any]], Any],
    conversation_id: str,
    submission: MediaSubmission,
    sender: Party,
    recipients: list[Party],
    decision: nudity.ImageDecision,
) -> list[Reason]:
    """Record the image in the conversation's state; reasons for any evidence it added."""
    added: list[Any] = []

    def apply(state: Any) -> None:
        record = getattr(state, "add_image_event", None)
        if record is None:  # a detector whose states do not take image events
            return
        added.extend(
            record(
                sender_id=sender.id,
                sender_age_band=sender.age_band,
                recipient_age_bands=[r.age_band for r in recipients],
                nudity_score=decision.score,
                message_id=submission.message_id,
                nudity_threshold=decision.threshold,
            )
            or ()
        )

    update_conversation(conversation_id, apply)
    return [
        Reason(
            f"conversation_{signal.category}",
            f"conversation {conversation_id}: {signal.reason}",
            signal.sender_id,
        )
        for signal in added
    ]
