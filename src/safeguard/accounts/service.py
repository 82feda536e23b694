"""The one way to manage accounts, connections and account-level risk.

The API, the CLI and the stream workers all call these functions with a
SQLAlchemy session; they never commit (the caller owns the transaction). The
message engine reads a batch's accounts with the batch read
(:mod:`safeguard.store.batch`); the generic SQL helpers are :mod:`safeguard.store.sql`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, delete, func, or_, select, tuple_
from sqlalchemy.orm import Session

from safeguard.accounts.models import (
    Account,
    AccountMediaMatch,
    AccountRiskScore,
    AccountSignal,
    Connection,
    ContactEvent,
    ContactPermission,
)
from safeguard.accounts.risk import AccountRisk, AccountRiskInputs, score_account
from safeguard.config import Settings
from safeguard.core.clock import utcnow
from safeguard.core.types import Party, Reason
from safeguard.errors import InputError
from safeguard.store.batch import add_signals, insert_contacts
from safeguard.store.sql import insert_for, upsert_statement

AGE_BANDS = ("child", "teen", "adult", "unknown")
ASSURANCE_LEVELS = ("self_declared", "estimated", "verified")


def _pair(a: str, b: str) -> tuple[str, str]:
    if a == b:
        raise InputError("an account cannot connect to itself", field="b")
    return (a, b) if a < b else (b, a)


def upsert_account(
    session: Session,
    account_id: str,
    *,
    age_band: str,
    age_assurance: str = "self_declared",
    declared_age_band: str | None = None,
    location: str | None = None,
    settings: Settings,
) -> Account:
    """Create or update an account.

    A self-declared band is remembered as ``declared_age_band`` so a later
    estimated or verified band that disagrees shows up as an age mismatch.
    """
    if age_band not in AGE_BANDS:
        raise InputError(f"must be one of {', '.join(AGE_BANDS)}", field="age_band")
    if age_assurance not in ASSURANCE_LEVELS:
        raise InputError(f"must be one of {', '.join(ASSURANCE_LEVELS)}", field="age_assurance")
    if declared_age_band is None and age_assurance == "self_declared":
        declared_age_band = age_band
    now = utcnow()
    values = {
        "age_band": age_band,
        "age_assurance": age_assurance,
        "location": location,
        "updated_at": now,
    }
    if declared_age_band is not None:
        values["declared_age_band"] = declared_age_band
    stmt = insert_for(session, Account).values(id=account_id, created_at=now, **values)
    session.execute(stmt.on_conflict_do_update(index_elements=["id"], set_=values))
    account = session.get(Account, account_id, populate_existing=True)
    assert account is not None
    refresh_account_risk(session, account_id, settings)
    return account


def get_account(session: Session, account_id: str) -> Account | None:
    """The account, or None."""
    return session.get(Account, account_id)


_ACCOUNTS = Account.__table__
_PARTIES = select(_ACCOUNTS.c.id, _ACCOUNTS.c.age_band, _ACCOUNTS.c.age_assurance).where(
    _ACCOUNTS.c.id.in_(bindparam("ids", expanding=True))
)


def parties(session: Session, account_ids: Iterable[str]) -> dict[str, Party]:
    """Policy views of ``account_ids``; unknown ids are ``unknown`` age band."""
    ids = list(dict.fromkeys(account_ids))
    if not ids:
        return {}
    rows = session.connection().execute(_PARTIES, {"ids": ids})
    found = {aid: Party(aid, band, assurance) for aid, band, assurance in rows}
    return {aid: found.get(aid, Party(aid)) for aid in ids}


def set_connection(session: Session, a: str, b: str) -> None:
    """Record an accepted connection (idempotent)."""
    lo, hi = _pair(a, b)
    stmt = insert_for(session, Connection).values(a_id=lo, b_id=hi, created_at=utcnow())
    session.execute(stmt.on_conflict_do_nothing(index_elements=["a_id", "b_id"]))


def remove_connection(session: Session, a: str, b: str) -> bool:
    """Remove a connection; True when one existed."""
    lo, hi = _pair(a, b)
    result = session.execute(delete(Connection).where(Connection.a_id == lo, Connection.b_id == hi))
    return bool(result.rowcount)


def connected_among(session: Session, account_id: str, others: Iterable[str]) -> set[str]:
    """Which of ``others`` are connected to ``account_id``."""
    others = [o for o in others if o != account_id]
    if not others:
        return set()
    rows = session.execute(
        select(Connection.a_id, Connection.b_id).where(
            or_(
                (Connection.a_id == account_id) & Connection.b_id.in_(others),
                (Connection.b_id == account_id) & Connection.a_id.in_(others),
            )
        )
    ).all()
    return {b if a == account_id else a for a, b in rows}


def confirm_contact(session: Session, minor_id: str, other_id: str) -> None:
    """Record that a minor confirmed contact from ``other_id`` (idempotent)."""
    stmt = insert_for(session, ContactPermission).values(
        minor_id=minor_id, other_id=other_id, confirmed_at=utcnow()
    )
    session.execute(stmt.on_conflict_do_nothing(index_elements=["minor_id", "other_id"]))


def list_connections(session: Session, account_id: str) -> list[str]:
    """Every account connected to ``account_id``, sorted."""
    rows = session.execute(
        select(Connection.a_id, Connection.b_id).where(
            or_(Connection.a_id == account_id, Connection.b_id == account_id)
        )
    ).all()
    return sorted(b if a == account_id else a for a, b in rows)


_CONTACTS = ContactEvent.__table__
_SIGNALS = AccountSignal.__table__
# Statements on the per-message path are built once: SQLAlchemy then reuses
# their compiled form without rebuilding or re-keying them on every call.
_RECENT_CONTACTS = (
    select(_CONTACTS.c.sender_id, _CONTACTS.c.recipient_id)
    .where(
        tuple_(_CONTACTS.c.sender_id, _CONTACTS.c.recipient_id).in_(bindparam("pairs", expanding=True)),
        _CONTACTS.c.at >= bindparam("since"),
    )
    .distinct()
)
_SEEN_SIGNALS = select(_SIGNALS.c.account_id, _SIGNALS.c.conversation_id, _SIGNALS.c.category).where(
    tuple_(_SIGNALS.c.account_id, _SIGNALS.c.conversation_id).in_(bindparam("pairs", expanding=True)),
    _SIGNALS.c.category.in_(bindparam("categories", expanding=True)),
)


def recent_contacts(
    session: Session, pairs: Iterable[tuple[str, str]], settings: Settings
) -> set[tuple[str, str]]:
    """Which ``(sender_id, minor_id)`` of ``pairs`` had a contact event in the fan-out window."""
    wanted = sorted(set(pairs))
    if not wanted:
        return set()
    since = utcnow() - timedelta(hours=settings.account_risk.window_hours)
    rows = session.connection().execute(_RECENT_CONTACTS, {"pairs": wanted, "since": since})
    return {(a, b) for a, b in rows}


def seen_signals(
    session: Session, pairs: Iterable[tuple[str, str]], categories: Iterable[str]
) -> set[tuple[str, str, str]]:
    """Which ``(account_id, conversation_id, category)`` are already stored for ``pairs``."""
    wanted, cats = sorted(set(pairs)), sorted(set(categories))
    if not wanted or not cats:
        return set()
    rows = session.connection().execute(_SEEN_SIGNALS, {"pairs": wanted, "categories": cats})
    return {(a, c, k) for a, c, k in rows}


def write_contacts(session: Session, contacts: Iterable[tuple[str, str]]) -> None:
    """Store ``(sender_id, minor_id)`` contact events (messages to unconnected minors) now."""
    insert_contacts(session.connection(), list(contacts), utcnow())


def write_signals(session: Session, counts: dict[tuple[str, str, str], int]) -> None:
    """Add ``counts`` of ``(account_id, conversation_id, category)`` signals to the store."""
    add_signals(session.connection(), counts, utcnow())


def record_contacts(session: Session, sender_id: str, minor_ids: Iterable[str], settings: Settings) -> bool:
    """Record messages to unconnected minors (fan-out input).

    Returns True when one of them is a minor this sender had not contacted in
    the fan-out window (so the account's risk may have changed).
    """
    minors = list(dict.fromkeys(minor_ids))
    if not minors:
        return False
    seen = recent_contacts(session, [(sender_id, m) for m in minors], settings)
    write_contacts(session, [(sender_id, m) for m in minors])
    return any((sender_id, m) not in seen for m in minors)


def record_signals(
    session: Session, account_id: str, conversation_id: str, categories: Iterable[str]
) -> bool:
    """Count signal categories an account fired in a conversation.

    Returns True when a category fired in this conversation for the first time
    (the only case that can change the repeated-signal rule).
    """
    wanted = list(dict.fromkeys(categories))
    if not wanted:
        return False
    existing = seen_signals(session, [(account_id, conversation_id)], wanted)
    write_signals(session, {(account_id, conversation_id, c): 1 for c in wanted})
    return any((account_id, conversation_id, c) not in existing for c in wanted)


def record_media_match(
    session: Session, account_id: str, bank: str, entry_id: str, category: str | None
) -> None:
    """Record that an account sent media matching a bank entry."""
    session.add(AccountMediaMatch(account_id=account_id, bank=bank, entry_id=entry_id, category=category))


_risk_statements: dict[tuple[str, ...], Any] = {}


def _risk_inputs_statement(categories: tuple[str, ...]) -> Any:
    """One SELECT of every count account risk is scored on (built once per category list)."""
    stmt = _risk_statements.get(categories)
    if stmt is not None:
        return stmt
    aid = bindparam("account_id")
    accounts_t, media_t = Account.__table__, AccountMediaMatch.__table__
    columns = [
        select(func.count(func.distinct(_CONTACTS.c.recipient_id)))
        .where(_CONTACTS.c.sender_id == aid, _CONTACTS.c.at >= bindparam("since"))
        .scalar_subquery()
        .label("minors"),
        select(func.count()).where(media_t.c.account_id == aid).scalar_subquery().label("media"),
        *(
            select(getattr(accounts_t.c, name)).where(accounts_t.c.id == aid).scalar_subquery().label(name)
            for name in ("declared_age_band", "age_band", "age_assurance")
        ),
        *(
            select(func.count())
            .where(_SIGNALS.c.account_id == aid, _SIGNALS.c.category == category)
            .scalar_subquery()
            .label(f"signal_{i}")
            for i, category in enumerate(categories)
        ),
    ]
    stmt = select(*columns)
    _risk_statements[categories] = stmt
    return stmt


def gather_risk_inputs(session: Session, account_id: str, settings: Settings) -> AccountRiskInputs:
    """Reduce what the store holds about an account to the counts risk is scored on."""
    limits = settings.account_risk
    categories = tuple(limits.repeated_signal_categories)
    since = utcnow() - timedelta(hours=limits.window_hours)
    if session.new or session.dirty or session.deleted:
        session.flush()  # the counts below must see objects added to this session
    row = (
        session.connection()
        .execute(_risk_inputs_statement(categories), {"account_id": account_id, "since": since})
        .one()
    )
    return AccountRiskInputs(
        account_id=account_id,
        unconnected_minors_in_window=int(row.minors),
        signal_conversations={c: int(row[5 + i]) for i, c in enumerate(categories) if row[5 + i]},
        declared_age_band=row.declared_age_band,
        age_band=row.age_band or "unknown",
        age_assurance=row.age_assurance or "self_declared",
        media_matches=int(row.media),
        script_children=_script_children(session, account_id, settings),
    )


def _script_children(session: Session, account_id: str, settings: Settings) -> int:
    """Children reached in the window by a script this account sent (``linking``)."""
    limits = settings.account_risk
    if not limits.script_linking_enabled:
        return 0
    from safeguard.linking.service import script_reach

    return script_reach(session, account_id, window_hours=limits.window_hours).children


def refresh_account_risk(session: Session, account_id: str, settings: Settings) -> AccountRisk:
    """Recompute an account's risk from the store and cache it."""
    risk = score_account(gather_risk_inputs(session, account_id, settings), settings.account_risk)
    reasons = json.dumps([r.to_dict() for r in risk.reasons])
    stmt = upsert_statement(
        session,
        _RISK,
        ["account_id"],
        lambda s: {c: s.excluded[c] for c in ("risk", "reasons", "updated_at")},
    )
    session.connection().execute(
        stmt, {"account_id": account_id, "risk": risk.risk, "reasons": reasons, "updated_at": utcnow()}
    )
    return risk


def cached_account_risk(session: Session, account_id: str) -> AccountRisk:
    """The last computed risk of an account (0 with no reasons when never scored)."""
    row = session.get(AccountRiskScore, account_id)
    if row is None:
        return AccountRisk(account_id, 0.0, [])
    reasons = [Reason(**r) for r in json.loads(row.reasons)]
    return AccountRisk(account_id, row.risk, reasons)


_RISK = AccountRiskScore.__table__


def account_risk(session: Session, account_id: str, settings: Settings) -> AccountRisk:
    """Current account-level risk (recomputed, so the fan-out window is up to date)."""
    return refresh_account_risk(session, account_id, settings)
