"""Named hash banks: create, list, import (idempotent, all-or-nothing), export, remove.

Every function takes a SQLAlchemy session and leaves committing to the caller
(``safeguard.store.db.session_scope`` commits on success and rolls back on any
error, so a failed import leaves no partial bank behind).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from safeguard.errors import InputError
from safeguard.media.importers import ImportRow, RowError, read_list
from safeguard.media.models import HashBank, HashBankEntry, utcnow
from safeguard.media.signals import lookup_key, normalise_signal

__all__ = [
    "BankSummary",
    "ImportReport",
    "create_bank",
    "export_rows",
    "get_bank",
    "import_file",
    "import_rows",
    "list_banks",
    "remove_bank",
]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_INSERT_BATCH = 5000
_MAX_REJECTIONS_KEPT = 1000


@dataclass(frozen=True)
class BankSummary:
    """A bank and how many entries of each signal type it holds."""

    name: str
    description: str
    created_at: str
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class ImportReport:
    """What an import did: rows added, already present, removed, skipped and rejected."""

    bank: str
    added: int = 0
    duplicates: int = 0
    removed: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (where, reason)
    rejected_count: int = 0

    def reject(self, where: str, reason: str) -> None:
        self.rejected_count += 1
        if len(self.rejected) < _MAX_REJECTIONS_KEPT:
            self.rejected.append((where, reason))

    def to_dict(self) -> dict[str, object]:
        """JSON-ready fields."""
        return {
            "bank": self.bank,
            "added": self.added,
            "duplicates": self.duplicates,
            "removed": self.removed,
            "skipped": dict(self.skipped),
            "rejected": self.rejected_count,
            "rejections": [{"where": w, "reason": r} for w, r in self.rejected],
        }


def _check_name(name: str) -> str:
    if not _NAME.match(name or ""):
        raise InputError(
            f"bank name {name!r} must be 1-64 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit"
        )
    return name


def get_bank(session: Session, name: str) -> HashBank:
    """The bank called ``name``; InputError if there is none."""
    bank = session.scalar(select(HashBank).where(HashBank.name == name))
    if bank is None:
        raise InputError(f"no bank named {name!r} (see 'safeguard bank list')")
    return bank


def create_bank(session: Session, name: str, description: str = "") -> HashBank:
    """Create an empty bank; InputError if the name is taken or invalid."""
    _check_name(name)
    if session.scalar(select(HashBank.id).where(HashBank.name == name)) is not None:
        raise InputError(f"a bank named {name!r} already exists")
    bank = HashBank(name=name, description=description, created_at=utcnow(), updated_at=utcnow())
    session.add(bank)
    session.flush()
    return bank


def list_banks(session: Session) -> list[BankSummary]:
    """Every bank with per-signal-type entry counts, by name."""
    counts: dict[int, dict[str, int]] = {}
    rows = session.execute(
        select(HashBankEntry.bank_id, HashBankEntry.signal_type, func.count()).group_by(
            HashBankEntry.bank_id, HashBankEntry.signal_type
        )
    )
    for bank_id, signal_type, count in rows:
        counts.setdefault(bank_id, {})[signal_type] = count
    return [
        BankSummary(
            name=b.name,
            description=b.description,
            created_at=b.created_at.isoformat() if b.created_at else "",
            counts=counts.get(b.id, {}),
        )
        for b in session.scalars(select(HashBank).order_by(HashBank.name))
    ]


def remove_bank(session: Session, name: str) -> int:
    """Delete a bank and its entries; returns how many entries went with it."""
    bank = get_bank(session, name)
    count = session.scalar(
        select(func.count()).select_from(HashBankEntry).where(HashBankEntry.bank_id == bank.id)
    )
    session.execute(delete(HashBankEntry).where(HashBankEntry.bank_id == bank.id))
    session.delete(bank)
    session.flush()
    return int(count or 0)


def import_rows(
    session: Session,
    bank_name: str,
    rows: Iterable[ImportRow | RowError],
    *,
    create: bool = False,
    strict: bool = False,
    source: str = "",
    category: str = "",
    signal_types: frozenset[str] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Validate and add ``rows`` to a bank; idempotent (re-importing adds nothing).

    Bad rows are rejected with their location and reason; with ``strict`` any
    rejection raises :class:`InputError` (and the caller's rollback leaves the
    bank untouched). ``source``/``category`` fill rows that carry none;
    ``signal_types`` restricts what the bank accepts (URL banks).
    ``on_progress`` is called with the number of rows read so far.
    """
    bank = session.scalar(select(HashBank).where(HashBank.name == bank_name))
    if bank is None:
        if not create:
            raise InputError(f"no bank named {bank_name!r} (create it, or pass --create)")
        bank = create_bank(session, bank_name)
    report = ImportReport(bank=bank.name)
    seen: set[tuple[str, str, str, str]] = {
        tuple(r)  # type: ignore[misc]
        for r in session.execute(
            select(
                HashBankEntry.signal_type,
                HashBankEntry.lookup,
                HashBankEntry.source,
                HashBankEntry.external_id,
            ).where(HashBankEntry.bank_id == bank.id)
        )
    }
    pending: list[dict[str, object]] = []
    tombstones: set[tuple[str, str]] = set()
    now = utcnow()
    for count, row in enumerate(rows, 1):
        if on_progress is not None:
            on_progress(count)
        if isinstance(row, RowError):
            if row.skipped:
                report.skipped[row.reason] += 1
            else:
                report.reject(row.where, row.reason)
            continue
        if row.deleted:
            tombstones.add((row.source or source, row.external_id))
            continue
        try:
            kind, value = normalise_signal(row.signal_type, row.value)
        except ValueError as exc:
            report.reject(row.where, str(exc))
            continue
        if signal_types is not None and kind not in signal_types:
            report.reject(row.where, f"signal type {kind!r} does not belong in this list")
            continue
        entry_source = (row.source or source)[:256]
        external_id = row.external_id[:256]
        lookup = lookup_key(kind, value)
        key = (kind, lookup, entry_source, external_id)
        if key in seen:
            report.duplicates += 1
            continue
        seen.add(key)
        pending.append(
            {
                "bank_id": bank.id,
                "signal_type": kind,
                "value": value,
                "lookup": lookup,
                "category": (row.category or category)[:128],
                "source": entry_source,
                "external_id": external_id,
                "added_at": now,
            }
        )
    if strict and report.rejected_count:
        first_where, first_reason = report.rejected[0]
        raise InputError(
            f"{report.rejected_count} row(s) rejected, nothing imported (strict); "
            f"first: {first_where}: {first_reason}"
        )
    for start in range(0, len(pending), _INSERT_BATCH):
        session.execute(insert(HashBankEntry), pending[start : start + _INSERT_BATCH])
    report.added = len(pending)
    for entry_source, external_id in tombstones:
        result = session.execute(
            delete(HashBankEntry).where(
                HashBankEntry.bank_id == bank.id,
                HashBankEntry.source == entry_source,
                HashBankEntry.external_id == external_id,
            )
        )
        report.removed += result.rowcount or 0
    if report.added or report.removed:
        bank.updated_at = now
    session.flush()
    return report


def import_file(
    session: Session,
    bank_name: str,
    path: str | Path,
    *,
    fmt: str = "auto",
    create: bool = False,
    strict: bool = False,
    source: str = "",
    category: str = "",
    signal_type: str = "",
    signal_types: frozenset[str] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import a list file (CSV, NCMEC XML, threatexchange formats, URL list) into a bank.

    ``on_progress`` is called with the number of rows read so far.
    """
    p = Path(path)
    options = {"source": source} if source else {}
    if signal_type:
        options["signal_type"] = signal_type
    if category and fmt == "urls":
        options["category"] = category
    try:
        return import_rows(
            session,
            bank_name,
            read_list(p, fmt, **options),
            create=create,
            strict=strict,
            source=source,
            category=category,
            signal_types=signal_types,
            on_progress=on_progress,
        )
    except InputError as exc:
        if exc.path is None:
            raise InputError(exc.reason, path=str(p), line=exc.line, field=exc.field) from None
        raise


EXPORT_COLUMNS = ("hash", "signal_type", "category", "source", "external_id", "added_at")


def export_rows(session: Session, bank_name: str) -> Iterator[tuple[str, ...]]:
    """A bank's entries as CSV rows (``EXPORT_COLUMNS``), oldest first; re-importable."""
    bank = get_bank(session, bank_name)
    query = (
        select(
            HashBankEntry.value,
            HashBankEntry.signal_type,
            HashBankEntry.category,
            HashBankEntry.source,
            HashBankEntry.external_id,
            HashBankEntry.added_at,
        )
        .where(HashBankEntry.bank_id == bank.id)
        .order_by(HashBankEntry.id)
        .execution_options(yield_per=10_000)
    )
    for value, kind, cat, src, ext, added in session.execute(query):
        yield (value, kind, cat, src, ext, added.isoformat() if added else "")
