"""The one way to manage accounts, connections and account-level risk.

The API, the CLI and the stream workers all call these functions with a
SQLAlchemy session; they never commit (the caller owns the transaction).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import (
    String,
    and_,
    any_,
    bindparam,
    cast,
    delete,
    func,
    literal_column,
    null,
    or_,
    select,
    tuple_,
)
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
from safeguard.store.db import json_text, pg_array

AGE_BANDS = ("child", "teen", "adult", "unknown")
ASSURANCE_LEVELS = ("self_declared", "estimated", "verified")


def _insert(session: Session, model: Any):  # type: ignore[no-untyped-def]
    """A dialect-specific INSERT that supports ON CONFLICT."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


_upserts: dict[tuple[str, str], Any] = {}


def upsert_statement(session: Session, table: Any, keys: list[str], set_: Callable[[Any], dict]) -> Any:
    """``INSERT ... ON CONFLICT (keys) DO UPDATE SET set_(stmt)`` for ``table``, built once per dialect.

    ``set_`` receives the statement (for ``stmt.excluded``) and returns the
    columns to update; hot-path upserts are reused rather than rebuilt per call.
    """
    dialect = session.get_bind().dialect.name
    cache_key = (dialect, table.name)
    stmt = _upserts.get(cache_key)
    if stmt is None:
        insert = _insert(session, table)
        stmt = _upserts[cache_key] = insert.on_conflict_do_update(index_elements=keys, set_=set_(insert))
    return stmt


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


_CONNECTIONS = Connection.__table__
_CONNECTED = select(_CONNECTIONS.c.a_id, _CONNECTIONS.c.b_id).where(
    tuple_(_CONNECTIONS.c.a_id, _CONNECTIONS.c.b_id).in_(bindparam("pairs", expanding=True))
)
_PERMISSIONS = ContactPermission.__table__
_CONFIRMED = select(_PERMISSIONS.c.minor_id, _PERMISSIONS.c.other_id).where(
    tuple_(_PERMISSIONS.c.minor_id, _PERMISSIONS.c.other_id).in_(bindparam("pairs", expanding=True))
)


def connected_pairs(session: Session, pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which of ``pairs`` are connected, returned in both orientations."""
    ordered = sorted({(a, b) if a < b else (b, a) for a, b in pairs if a != b})
    if not ordered:
        return set()
    rows = session.connection().execute(_CONNECTED, {"pairs": ordered}).all()
    return {(a, b) for a, b in rows} | {(b, a) for a, b in rows}


def confirmed_pairs(session: Session, pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which ``(minor_id, other_id)`` of ``pairs`` are confirmed contacts."""
    wanted = sorted(set(pairs))
    if not wanted:
        return set()
    rows = session.connection().execute(_CONFIRMED, {"pairs": wanted})
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


def write_contacts(session: Session, contacts: Iterable[tuple[str, str]]) -> None:
    """Store ``(sender_id, minor_id)`` contact events (messages to unconnected minors) now."""
    now = utcnow()
    rows = [{"sender_id": a, "recipient_id": b, "at": now} for a, b in contacts]
    if rows:
        session.connection().execute(_CONTACTS.insert(), rows)


def seen_signals(
    session: Session, pairs: Iterable[tuple[str, str]], categories: Iterable[str]
) -> set[tuple[str, str, str]]:
    """Which ``(account_id, conversation_id, category)`` are already stored for ``pairs``."""
    wanted, cats = sorted(set(pairs)), sorted(set(categories))
    if not wanted or not cats:
        return set()
    rows = session.connection().execute(_SEEN_SIGNALS, {"pairs": wanted, "categories": cats})
    return {(a, c, k) for a, c, k in rows}


def write_signals(session: Session, counts: dict[tuple[str, str, str], int]) -> None:
    """Add ``counts`` of ``(account_id, conversation_id, category)`` signals to the store."""
    if not counts:
        return
    now = utcnow()
    stmt = upsert_statement(
        session,
        _SIGNALS,
        ["account_id", "category", "conversation_id"],
        lambda s: {"count": _SIGNALS.c.count + s.excluded.count, "last_at": s.excluded.last_at},
    )
    rows = [
        {"account_id": a, "conversation_id": c, "category": k, "count": n, "last_at": now}
        for (a, c, k), n in sorted(counts.items())
    ]
    session.connection().execute(stmt, rows)


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
    )


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
_CACHED_RISKS = select(_RISK.c.account_id, _RISK.c.risk, _RISK.c.reasons).where(
    _RISK.c.account_id.in_(bindparam("ids", expanding=True))
)


def cached_account_risks(session: Session, account_ids: Iterable[str]) -> dict[str, AccountRisk]:
    """Last computed risk of each account that has one."""
    ids = sorted(set(account_ids))
    if not ids:
        return {}
    rows = session.connection().execute(_CACHED_RISKS, {"ids": ids})
    return {
        aid: AccountRisk(aid, risk, [Reason(**r) for r in json.loads(reasons)]) for aid, risk, reasons in rows
    }


def account_risk(session: Session, account_id: str, settings: Settings) -> AccountRisk:
    """Current account-level risk (recomputed, so the fan-out window is up to date)."""
    return refresh_account_risk(session, account_id, settings)


@dataclass(slots=True)
class BatchContext:
    """Everything the message engine reads about a batch's accounts, in one round trip."""

    people: dict[str, Party]
    connected: set[tuple[str, str]]
    confirmed: set[tuple[str, str]]
    risks: dict[str, AccountRisk]
    contacted: set[tuple[str, str]]
    signals_seen: set[tuple[str, str, str]]


def in_list(columns: tuple[Any, ...], name: str, postgres: bool) -> Any:
    """``columns IN (:name)``, in the form each database handles best for a batch.

    The list is one parameter, so the statement's text never changes with
    the batch: SQLAlchemy renders it once, and psycopg prepares it once
    instead of the server parsing and planning it for every batch. SQLite
    reads it as a JSON array (``IN (SELECT value FROM json_each(:name))``);
    PostgreSQL as a text array (``= ANY(:name)``, or ``IN (SELECT
    unnest(:name_0), ...)`` for several columns), sent as an array literal
    (:func:`~safeguard.store.db.pg_array`). For several columns on SQLite the
    first one's values come too: SQLite answers a row-value ``IN`` by
    scanning the whole table, but looks a single column's ``IN`` up in the
    index that column leads. Fill it with :func:`list_values`.
    """
    if not postgres:
        listed = func.json_each(bindparam(name, type_=String)).table_valued("value")
        if len(columns) == 1:
            return columns[0].in_(select(listed.c.value))
        lead = func.json_each(bindparam(f"{name}_lead", type_=String)).table_valued("value")
        items = [func.json_extract(listed.c.value, f"$[{i}]") for i in range(len(columns))]
        return and_(columns[0].in_(select(lead.c.value)), tuple_(*columns).in_(select(*items)))
    text_array = postgresql.ARRAY(String)

    def array(parameter: str) -> Any:
        return cast(bindparam(parameter, type_=String), text_array)

    if len(columns) == 1:
        return columns[0] == any_(array(name))
    return tuple_(*columns).in_(select(*[func.unnest(array(f"{name}_{i}")) for i in range(len(columns))]))


def list_values(name: str, values: Iterable[Any], postgres: bool, width: int = 1) -> dict[str, str]:
    """Parameters of an :func:`in_list` clause holding ``values``: strings, or tuples of
    ``width`` strings."""
    items = sorted(set(values))
    if not postgres:
        if width == 1:
            return {name: json_text(items)}
        return {name: json_text(items), f"{name}_lead": json_text(sorted({item[0] for item in items}))}
    if width == 1:
        return {name: pg_array(items)}
    return {f"{name}_{i}": pg_array(item[i] for item in items) for i in range(width)}


def context_selects(postgres: bool) -> list[Any]:
    """The per-batch account reads as SELECTs of five columns ``(kind, a, b, c, null)``.

    The engine sends them as one ``UNION ALL`` (with its own reads, which use
    the fifth column): one round trip per batch instead of one per table.
    Fill the parameters with :func:`context_parameters` and read the rows back
    with :func:`read_context`.
    """

    def member(name: str, *columns: Any) -> Any:
        return in_list(columns, name, postgres)

    return [
        select(
            literal_column("'p'"), _ACCOUNTS.c.id, _ACCOUNTS.c.age_band, _ACCOUNTS.c.age_assurance, null()
        ).where(member("people", _ACCOUNTS.c.id)),
        select(literal_column("'c'"), _CONNECTIONS.c.a_id, _CONNECTIONS.c.b_id, null(), null()).where(
            member("ordered_pairs", _CONNECTIONS.c.a_id, _CONNECTIONS.c.b_id)
        ),
        select(literal_column("'f'"), _PERMISSIONS.c.minor_id, _PERMISSIONS.c.other_id, null(), null()).where(
            member("pairs", _PERMISSIONS.c.minor_id, _PERMISSIONS.c.other_id)
        ),
        select(
            literal_column("'r'"), _RISK.c.account_id, cast(_RISK.c.risk, String), _RISK.c.reasons, null()
        ).where(member("senders", _RISK.c.account_id)),
        select(literal_column("'n'"), _CONTACTS.c.sender_id, _CONTACTS.c.recipient_id, null(), null())
        .where(
            member("sender_pairs", _CONTACTS.c.sender_id, _CONTACTS.c.recipient_id),
            _CONTACTS.c.at >= bindparam("since"),
        )
        .distinct(),
        select(
            literal_column("'s'"),
            _SIGNALS.c.account_id,
            _SIGNALS.c.conversation_id,
            _SIGNALS.c.category,
            null(),
        ).where(
            member("sender_conversations", _SIGNALS.c.account_id, _SIGNALS.c.conversation_id),
            member("categories", _SIGNALS.c.category),
        ),
    ]


def context_parameters(
    people: Iterable[str],
    sender_pairs: Iterable[tuple[str, str]],
    sender_conversations: Iterable[tuple[str, str]],
    settings: Settings,
    postgres: bool,
) -> dict[str, Any]:
    """Parameters for :func:`context_selects`: accounts, ``(sender, recipient)`` pairs, and
    ``(sender, conversation)`` pairs of a batch."""
    directed = set(sender_pairs)
    both = directed | {(b, a) for a, b in directed}
    return {
        **list_values("people", people, postgres),
        **list_values("ordered_pairs", {(a, b) if a < b else (b, a) for a, b in both if a != b}, postgres, 2),
        **list_values("pairs", both, postgres, 2),
        **list_values("senders", {a for a, _ in directed}, postgres),
        **list_values("sender_pairs", directed, postgres, 2),
        **list_values("sender_conversations", sender_conversations, postgres, 2),
        **list_values("categories", settings.account_risk.repeated_signal_categories, postgres),
        "since": utcnow() - timedelta(hours=settings.account_risk.window_hours),
    }


def read_context(rows: Iterable[Any], people: Iterable[str]) -> BatchContext:
    """Sort the union's ``(kind, a, b, c, _)`` rows into a :class:`BatchContext`."""
    found: dict[str, Party] = {}
    context = BatchContext({}, set(), set(), {}, set(), set())
    for kind, a, b, c, *_ in rows:
        if kind == "p":
            found[a] = Party(a, b, c)
        elif kind == "c":
            context.connected.update(((a, b), (b, a)))
        elif kind == "f":
            context.confirmed.add((a, b))
        elif kind == "r":
            context.risks[a] = AccountRisk(a, float(b), [Reason(**r) for r in json.loads(c)])
        elif kind == "n":
            context.contacted.add((a, b))
        elif kind == "s":
            context.signals_seen.add((a, b, c))
    context.people = {aid: found.get(aid, Party(aid)) for aid in dict.fromkeys(people)}
    return context
