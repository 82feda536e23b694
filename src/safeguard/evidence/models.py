"""Store models for the evidence and audit chain.

``evidence_records`` is append-only: each record's ``hash`` is
``sha256(prev_hash || canonical JSON of its header)`` and the header carries
the SHA-256 of the payload, so a payload can be erased by the retention job
(which says so in a later record) without breaking the chain.
``evidence_head`` is one row: the last sequence number and hash, locked while
appending so writers form a single chain.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from safeguard.store.db import Base


class EvidenceRecord(Base):
    """One link of the chain: evidence for a case, or an audit entry (who, when, what)."""

    __tablename__ = "evidence_records"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    case_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    kind: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(48))
    actor: Mapped[str] = mapped_column(String(160))
    at: Mapped[str] = mapped_column(String(40))
    payload: Mapped[str | None] = mapped_column(Text, nullable=True)
    payload_sha256: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64))
    purged: Mapped[bool] = mapped_column(Boolean, default=False)


class EvidenceHead(Base):
    """The chain's tip (a single row, id 1)."""

    __tablename__ = "evidence_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    hash: Mapped[str] = mapped_column(String(64))
