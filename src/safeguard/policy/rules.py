"""Child-safety defaults (Ofcom ICU F1/F2) as pure, configurable decision functions.

Each function takes plain values (no store, no HTTP) and returns a result
carrying the reasons of every rule that fired, so the API, the CLI and the
stream workers decide the same way and a reviewer can see why.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from safeguard.config import PolicyRules, Settings, Support, Thresholds
from safeguard.policy import texts
from safeguard.policy.types import (
    Action,
    ConnectionRequestDecision,
    MessageDecision,
    Party,
    PlatformAction,
    Reason,
    RecipientContext,
    SuggestionResult,
    Visibility,
    most_severe,
)


def is_minor(party: Party, rules: PolicyRules) -> bool:
    """True when the account is protected as a child (under 18 by default)."""
    if party.age_band == "unknown":
        return rules.treat_unknown_as_minor or "unknown" in rules.protected_bands
    return party.age_band in rules.protected_bands


def _recipient_action(
    sender: Party,
    recipient: RecipientContext,
    *,
    conversation_risk: float,
    categories: set[str],
    account_risk: float,
    rules: PolicyRules,
    thresholds: Thresholds,
) -> tuple[Action, list[Reason]]:
    """The action for one minor recipient, with its reasons."""
    rid = recipient.party.id
    actions: list[Action] = []
    reasons: list[Reason] = []
    risky_sender = sender.age_band in rules.risk_sender_bands

    if risky_sender and conversation_risk >= thresholds.escalate:
        actions.append(Action.ESCALATE)
        reasons.append(
            Reason(
                "grooming_risk_escalate",
                f"conversation grooming risk {conversation_risk:.2f} >= escalation "
                f"threshold {thresholds.escalate:.2f} ({sender.age_band} -> minor)",
                rid,
            )
        )
    elif risky_sender and conversation_risk >= thresholds.hold:
        actions.append(Action.HOLD)
        reasons.append(
            Reason(
                "grooming_risk_hold",
                f"conversation grooming risk {conversation_risk:.2f} >= hold "
                f"threshold {thresholds.hold:.2f} ({sender.age_band} -> minor)",
                rid,
            )
        )

    unconnected = not recipient.connected and not recipient.confirmed
    if risky_sender and not recipient.connected and account_risk >= thresholds.account_hold:
        actions.append(Action.HOLD)
        reasons.append(
            Reason(
                "account_risk_hold",
                f"sender account risk {account_risk:.2f} >= {thresholds.account_hold:.2f} "
                "and not connected to the minor",
                rid,
            )
        )

    if unconnected and rules.unconnected_contact != "allow":
        if rules.unconnected_contact == "block":
            actions.append(Action.BLOCK)
            reasons.append(
                Reason("unconnected_contact", "minors cannot be messaged by unconnected accounts", rid)
            )
        else:
            actions.append(Action.REQUIRE_CONFIRMATION)
            reasons.append(
                Reason(
                    "unconnected_contact",
                    "first message from an account the minor is not connected to: the minor must confirm",
                    rid,
                )
            )

    warn_categories = sorted(categories.intersection(rules.warn_on_signals))
    if conversation_risk >= thresholds.warn:
        actions.append(Action.WARN_RECIPIENT)
        reasons.append(
            Reason(
                "conversation_risk_warn",
                f"conversation grooming risk {conversation_risk:.2f} >= warning "
                f"threshold {thresholds.warn:.2f}",
                rid,
            )
        )
    elif warn_categories:
        actions.append(Action.WARN_RECIPIENT)
        reasons.append(Reason("signal_warn", "signals fired: " + ", ".join(warn_categories), rid))
    return most_severe(actions), reasons


def decide_message(
    sender: Party,
    recipients: Iterable[RecipientContext],
    *,
    message_risk: float,
    conversation_risk: float,
    categories: Iterable[str] = (),
    account_risk: float = 0.0,
    account_reasons: Iterable[Reason] = (),
    self_harm: bool = False,
    settings: Settings,
) -> MessageDecision:
    """Decide one message: the most severe action over its recipients.

    Only minor recipients are protected; a message to adults is allowed
    (its risk is still reported and feeds account-level risk). Sextortion threats
    or self-harm coercion from a risky sender put the child in danger
    (:func:`child_in_danger`).
    """
    rules, thresholds = settings.policy, settings.thresholds
    category_set = set(categories)
    per_recipient: dict[str, Action] = {}
    reasons: list[Reason] = []
    minors: list[str] = []
    for recipient in recipients:
        if recipient.party.id == sender.id or not is_minor(recipient.party, rules):
            per_recipient[recipient.party.id] = Action.ALLOW
            continue
        minors.append(recipient.party.id)
        action, why = _recipient_action(
            sender,
            recipient,
            conversation_risk=conversation_risk,
            categories=category_set,
            account_risk=account_risk,
            rules=rules,
            thresholds=thresholds,
        )
        per_recipient[recipient.party.id] = action
        reasons.extend(why)
    danger = child_in_danger(
        sender, minors, sextortion="sextortion" in category_set, self_harm=self_harm, settings=settings
    )
    for rid in danger.recipients:
        per_recipient[rid] = most_severe([per_recipient[rid], danger.action])
    reasons.extend(danger.reasons)
    overall = most_severe(list(per_recipient.values()))
    if any(r.code in {"account_risk_hold"} for r in reasons):
        reasons.extend(account_reasons)
    warn_text = None
    warned = {a for a in per_recipient.values()}
    if Action.REQUIRE_CONFIRMATION in warned or Action.BLOCK in warned:
        warn_text = texts.UNKNOWN_SENDER
    elif Action.WARN_RECIPIENT in warned:
        warn_text = texts.RISKY_CONVERSATION
    return MessageDecision(
        action=overall,
        risk=message_risk,
        conversation_risk=conversation_risk,
        reasons=reasons,
        recipient_actions=per_recipient,
        warn_recipient=warn_text,
        account_risk=account_risk,
        priority=0 if danger.recipients else None,
        support=danger.support,
        platform_actions=danger.platform_actions,
    )


@dataclass(slots=True)
class Danger:
    """A child in danger: who, the action and reasons, the help shown, the platform's steps."""

    recipients: list[str] = field(default_factory=list)
    action: Action = Action.ALLOW
    reasons: list[Reason] = field(default_factory=list)
    support: dict | None = None
    platform_actions: list[PlatformAction] = field(default_factory=list)


def child_in_danger(
    sender: Party,
    minors: list[str],
    *,
    sextortion: bool,
    self_harm: bool,
    settings: Settings,
) -> Danger:
    """Sextortion threats or self-harm coercion from a risky sender to minors: the
    message is escalated (or held, ``[support] action``) for each minor, the sender
    loses access to each child's follower list, and the child is shown help."""
    if not (sextortion or self_harm) or sender.age_band not in settings.policy.risk_sender_bands:
        return Danger()
    if not minors:
        return Danger()
    kinds = [k for k, on in (("sextortion_threat", sextortion), ("self_harm_coercion", self_harm)) if on]
    what = " and ".join(k.replace("_", " ").replace("self harm", "self-harm") for k in kinds)
    reasons = [
        Reason(code, f"{code.replace('_', ' ')} from a {sender.age_band} sender to a minor", rid)
        for code in kinds
        for rid in minors
    ]
    revoke = [
        PlatformAction(
            "revoke_follower_access",
            sender.id,
            rid,
            f"{what} to a minor: the sender must not see or contact the child's followers or friends",
        )
        for rid in minors
    ]
    action = Action.HOLD if settings.support.action == "hold" else Action.ESCALATE
    return Danger(minors, action, reasons, support_for(settings.support, sextortion, self_harm), revoke)


def support_for(support: Support, sextortion: bool, self_harm: bool) -> dict:
    """The help shown to the child, with the routes of the configured region."""
    region = support.region if support.region in support.routes else "default"
    body: dict = {"region": region, "text": None, "routes": [], "crisis_text": None, "crisis_lines": []}
    if sextortion:
        body["text"] = texts.SEXTORTION_SUPPORT
        body["routes"] = [r.model_dump() for r in support.routes.get(region, [])]
    if self_harm:
        lines = support.crisis_lines.get(support.region) or support.crisis_lines.get("default", [])
        body["crisis_text"] = texts.SELF_HARM_SUPPORT
        body["crisis_lines"] = [r.model_dump() for r in lines]
    return body


def decide_connection_request(
    requester: Party,
    target: Party,
    *,
    connected: bool,
    requester_account_risk: float = 0.0,
    account_reasons: Iterable[Reason] = (),
    settings: Settings,
) -> ConnectionRequestDecision:
    """Decide a connection request from ``requester`` to ``target``."""
    rules, thresholds = settings.policy, settings.thresholds
    if connected:
        return ConnectionRequestDecision(
            Action.ALLOW, [Reason("already_connected", "the accounts are already connected")]
        )
    target_minor, requester_minor = is_minor(target, rules), is_minor(requester, rules)
    risky = requester.age_band in rules.risk_sender_bands
    if target_minor and risky:
        if requester_account_risk >= thresholds.escalate:
            reasons = [
                Reason(
                    "account_risk_escalate",
                    f"requester account risk {requester_account_risk:.2f} >= {thresholds.escalate:.2f}",
                    requester.id,
                ),
                *account_reasons,
            ]
            return ConnectionRequestDecision(Action.ESCALATE, reasons)
        if requester_account_risk >= thresholds.account_hold:
            reasons = [
                Reason(
                    "account_risk_hold",
                    f"requester account risk {requester_account_risk:.2f} >= {thresholds.account_hold:.2f}",
                    requester.id,
                ),
                *account_reasons,
            ]
            return ConnectionRequestDecision(Action.HOLD, reasons)
        if rules.adult_to_minor_requests == "block":
            return ConnectionRequestDecision(
                Action.BLOCK,
                [Reason("adult_to_minor_request", f"{requester.age_band} account to a minor")],
            )
        return ConnectionRequestDecision(
            Action.REQUIRE_CONFIRMATION,
            [
                Reason(
                    "adult_to_minor_request",
                    f"{requester.age_band} account asks to connect with a minor: the minor must confirm",
                    target.id,
                )
            ],
            warn_recipient=texts.UNKNOWN_REQUEST,
        )
    if target_minor:
        return ConnectionRequestDecision(
            Action.WARN_RECIPIENT,
            [
                Reason(
                    "unknown_account_request",
                    "unconnected account asks a minor to connect",
                    target.id,
                )
            ],
            warn_recipient=texts.UNKNOWN_REQUEST,
        )
    if requester_minor and not is_minor(target, rules):
        return ConnectionRequestDecision(
            Action.WARN_RECIPIENT,
            [
                Reason(
                    "minor_connecting_to_unknown",
                    f"a minor is about to connect with an unconnected {target.age_band} account",
                    requester.id,
                )
            ],
            warn_requester=texts.ABOUT_TO_CONNECT,
        )
    return ConnectionRequestDecision(Action.ALLOW, [])


def filter_suggestions(
    viewer: Party,
    candidates: Iterable[Party],
    *,
    connected_ids: set[str],
    settings: Settings,
) -> SuggestionResult:
    """The candidates ``viewer`` may be shown in network-expansion suggestions.

    Minors are never suggested to adults (or unknown-age accounts) nor to
    accounts not connected to them; minors get no suggestions unless the
    deployment enables them, and then no adults unless also enabled.
    """
    rules = settings.policy
    viewer_minor = is_minor(viewer, rules)
    allowed: list[str] = []
    excluded: list[Reason] = []
    seen: set[str] = set()
    for candidate in candidates:
        if candidate.id in seen or candidate.id == viewer.id:
            continue
        seen.add(candidate.id)
        candidate_minor = is_minor(candidate, rules)
        if viewer_minor and not rules.child_network_suggestions:
            excluded.append(
                Reason("minor_viewer", "minors get no network-expansion suggestions", candidate.id)
            )
        elif viewer_minor and not candidate_minor and not rules.suggest_adults_to_minors:
            excluded.append(
                Reason("adult_to_minor_viewer", "adults are not suggested to minors", candidate.id)
            )
        elif candidate_minor and not viewer_minor:
            excluded.append(
                Reason(
                    "minor_to_non_minor",
                    f"minors are not suggested to {viewer.age_band} accounts",
                    candidate.id,
                )
            )
        elif candidate_minor and candidate.id not in connected_ids:
            excluded.append(
                Reason(
                    "minor_unconnected",
                    "minors are not suggested to accounts they are not connected to",
                    candidate.id,
                )
            )
        else:
            allowed.append(candidate.id)
    return SuggestionResult(allowed, excluded)


def location_visibility(account: Party, viewer_id: str | None, *, settings: Settings) -> Visibility:
    """Whether ``viewer_id`` may see ``account``'s location: a minor's only by the minor (F1)."""
    rules = settings.policy
    if rules.hide_minor_connections and is_minor(account, rules) and viewer_id != account.id:
        reason = Reason("minor_location_hidden", "a minor's location is shown only to the minor", account.id)
        return Visibility(True, reasons=[reason])
    return Visibility(False)


def connections_visibility(
    account: Party, connections: Sequence[Party], viewer_id: str | None, *, settings: Settings
) -> Visibility:
    """Which of ``account``'s connections ``viewer_id`` may see (F1).

    A minor's list is shown only to the minor; minors are left out of others' lists
    (except the viewer). ``hide_minor_connections = false`` shows every list whole.
    """
    rules = settings.policy
    ids = [c.id for c in connections]
    if not rules.hide_minor_connections or viewer_id == account.id:
        return Visibility(False, ids)
    if is_minor(account, rules):
        reason = Reason(
            "minor_connections_hidden", "a minor's connections are shown only to the minor", account.id
        )
        return Visibility(True, reasons=[reason])
    visible: list[str] = []
    reasons: list[Reason] = []
    for connection in connections:
        if connection.id == viewer_id or not is_minor(connection, rules):
            visible.append(connection.id)
        else:
            why = "minors are left out of others' connection lists"
            reasons.append(Reason("minor_connection_hidden", why, connection.id))
    return Visibility(False, visible, reasons)
