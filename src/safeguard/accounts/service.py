"""The one way to manage accounts, connections and account-level risk.

The API, the CLI and the stream workers all call these functions with a
SQLAlchemy session; they never commit (the caller owns the transaction).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import delete, func, or_, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from safeguard.accounts.models import (
    Account,
    AccountMediaMatch,
    AccountRiskScore,
    AccountSignal,
    Connection,
    ContactEvent,
    ContactPermission,
    utcnow,
)
from safeguard.accounts.risk import AccountRisk, AccountRiskInputs, score_account
from safeguard.config import Settings
from safeguard.errors import InputError
from safeguard.policy.types import Party, Reason

AGE_BANDS = ("child", "teen", "adult", "unknown")
ASSURANCE_LEVELS = ("self_declared", "estimated", "verified")


def _insert(session: Session, model: type):  # type: ignore[no-untyped-def]
    """A dialect-specific INSERT that supports ON CONFLICT."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


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
    stmt = _insert(session, Account).values(id=account_id, created_at=now, **values)
    session.execute(stmt.on_conflict_do_update(index_elements=["id"], set_=values))
    account = session.get(Account, account_id, populate_existing=True)
    assert account is not None
    refresh_account_risk(session, account_id, settings)
    return account


def get_account(session: Session, account_id: str) -> Account | None:
    """The account, or None."""
    return session.get(Account, account_id)


def parties(session: Session, account_ids: Iterable[str]) -> dict[str, Party]:
    """Policy views of ``account_ids``; unknown ids are ``unknown`` age band."""
    ids = list(dict.fromkeys(account_ids))
    rows = session.execute(
        select(Account.id, Account.age_band, Account.age_assurance).where(Account.id.in_(ids))
    ).all()
    found = {row.id: Party(row.id, row.age_band, row.age_assurance) for row in rows}
    return {aid: found.get(aid, Party(aid)) for aid in ids}


def set_connection(session: Session, a: str, b: str) -> None:
    """Record an accepted connection (idempotent)."""
    lo, hi = _pair(a, b)
    stmt = _insert(session, Connection).values(a_id=lo, b_id=hi, created_at=utcnow())
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


def connected_pairs(session: Session, pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which of ``pairs`` are connected, returned in both orientations."""
    ordered = {(a, b) if a < b else (b, a) for a, b in pairs if a != b}
    if not ordered:
        return set()
    rows = session.execute(
        select(Connection.a_id, Connection.b_id).where(
            tuple_(Connection.a_id, Connection.b_id).in_(sorted(ordered))
        )
    ).all()
    return {(a, b) for a, b in rows} | {(b, a) for a, b in rows}


def confirmed_pairs(session: Session, pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which ``(minor_id, other_id)`` of ``pairs`` are confirmed contacts."""
    wanted = sorted(set(pairs))
    if not wanted:
        return set()
    rows = session.execute(
        select(ContactPermission.minor_id, ContactPermission.other_id).where(
            tuple_(ContactPermission.minor_id, ContactPermission.other_id).in_(wanted)
        )
    ).all()
    return {(a, b) for a, b in rows}


def confirmed_among(session: Session, sender_id: str, minors: Iterable[str]) -> set[str]:
    """Which of ``minors`` have confirmed contact from ``sender_id``."""
    minors = list(minors)
    if not minors:
        return set()
    rows = session.execute(
        select(ContactPermission.minor_id).where(
            ContactPermission.other_id == sender_id, ContactPermission.minor_id.in_(minors)
        )
    ).scalars()
    return set(rows)


def confirm_contact(session: Session, minor_id: str, other_id: str) -> None:
    """Record that a minor confirmed contact from ``other_id`` (idempotent)."""
    stmt = _insert(session, ContactPermission).values(
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


def record_contacts(session: Session, sender_id: str, minor_ids: Iterable[str], settings: Settings) -> bool:
    """Record messages to unconnected minors (fan-out input).

    Returns True when one of them is a minor this sender had not contacted in
    the fan-out window (so the account's risk may have changed).
    """
    minors = list(dict.fromkeys(minor_ids))
    if not minors:
        return False
    now = utcnow()
    since = now - timedelta(hours=settings.account_risk.window_hours)
    seen = set(
        session.execute(
            select(ContactEvent.recipient_id)
            .where(
                ContactEvent.sender_id == sender_id,
                ContactEvent.recipient_id.in_(minors),
                ContactEvent.at >= since,
            )
            .distinct()
        ).scalars()
    )
    session.execute(
        _insert(session, ContactEvent),
        [{"sender_id": sender_id, "recipient_id": m, "at": now} for m in minors],
    )
    return any(m not in seen for m in minors)


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
    now = utcnow()
    existing = set(
        session.execute(
            select(AccountSignal.category).where(
                AccountSignal.account_id == account_id,
                AccountSignal.conversation_id == conversation_id,
                AccountSignal.category.in_(wanted),
            )
        ).scalars()
    )
    for category in wanted:
        stmt = _insert(session, AccountSignal).values(
            account_id=account_id,
            category=category,
            conversation_id=conversation_id,
            count=1,
            last_at=now,
        )
        session.execute(
            stmt.on_conflict_do_update(
                index_elements=["account_id", "category", "conversation_id"],
                set_={"count": AccountSignal.count + 1, "last_at": now},
            )
        )
    return any(c not in existing for c in wanted)


def record_media_match(
    session: Session, account_id: str, bank: str, entry_id: str, category: str | None
) -> None:
    """Record that an account sent media matching a bank entry."""
    session.add(AccountMediaMatch(account_id=account_id, bank=bank, entry_id=entry_id, category=category))


def gather_risk_inputs(session: Session, account_id: str, settings: Settings) -> AccountRiskInputs:
    """Reduce what the store holds about an account to the counts risk is scored on."""
    limits = settings.account_risk
    since = utcnow() - timedelta(hours=limits.window_hours)
    minors = session.execute(
        select(func.count(func.distinct(ContactEvent.recipient_id))).where(
            ContactEvent.sender_id == account_id, ContactEvent.at >= since
        )
    ).scalar_one()
    signal_rows = session.execute(
        select(AccountSignal.category, func.count())
        .where(
            AccountSignal.account_id == account_id,
            AccountSignal.category.in_(limits.repeated_signal_categories),
        )
        .group_by(AccountSignal.category)
    ).all()
    media = session.execute(
        select(func.count()).where(AccountMediaMatch.account_id == account_id)
    ).scalar_one()
    account = session.get(Account, account_id)
    return AccountRiskInputs(
        account_id=account_id,
        unconnected_minors_in_window=int(minors),
        signal_conversations={c: int(n) for c, n in signal_rows},
        declared_age_band=account.declared_age_band if account else None,
        age_band=account.age_band if account else "unknown",
        age_assurance=account.age_assurance if account else "self_declared",
        media_matches=int(media),
    )


def refresh_account_risk(session: Session, account_id: str, settings: Settings) -> AccountRisk:
    """Recompute an account's risk from the store and cache it."""
    risk = score_account(gather_risk_inputs(session, account_id, settings), settings.account_risk)
    reasons = json.dumps([r.to_dict() for r in risk.reasons])
    now = utcnow()
    stmt = _insert(session, AccountRiskScore).values(
        account_id=account_id, risk=risk.risk, reasons=reasons, updated_at=now
    )
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["account_id"],
            set_={"risk": risk.risk, "reasons": reasons, "updated_at": now},
        )
    )
    return risk


def cached_account_risk(session: Session, account_id: str) -> AccountRisk:
    """The last computed risk of an account (0 with no reasons when never scored)."""
    row = session.get(AccountRiskScore, account_id)
    if row is None:
        return AccountRisk(account_id, 0.0, [])
    reasons = [Reason(**r) for r in json.loads(row.reasons)]
    return AccountRisk(account_id, row.risk, reasons)


def cached_account_risks(session: Session, account_ids: Iterable[str]) -> dict[str, AccountRisk]:
    """Last computed risk of each account that has one."""
    ids = sorted(set(account_ids))
    if not ids:
        return {}
    rows = session.execute(
        select(AccountRiskScore.account_id, AccountRiskScore.risk, AccountRiskScore.reasons).where(
            AccountRiskScore.account_id.in_(ids)
        )
    ).all()
    return {
        aid: AccountRisk(aid, risk, [Reason(**r) for r in json.loads(reasons)]) for aid, risk, reasons in rows
    }


def account_risk(session: Session, account_id: str, settings: Settings) -> AccountRisk:
    """Current account-level risk (recomputed, so the fan-out window is up to date)."""
    return refresh_account_risk(session, account_id, settings)
