"""Records the readers produce: messages (JSONL, PAN12) and labelled text (CSV)."""

from __future__ import annotations

from dataclasses import dataclass, field

AGE_BANDS = ("child", "teen", "adult", "unknown")


@dataclass(frozen=True, slots=True)
class Message:
    """One chat message, as read from JSONL or PAN12 XML (or posted to the API)."""

    conversation_id: str
    message_id: str
    sender_id: str
    text: str
    sent_at: str | None = None
    sender_age_band: str | None = None
    line: int | None = None  # where it was read, for error messages and evidence


@dataclass(frozen=True, slots=True)
class TextRecord:
    """One CSV row: a whole conversation or segment, optionally labelled."""

    id: str
    text: str
    label: int | None = None
    line: int | None = None


@dataclass(slots=True)
class BadInputReport:
    """Counts of records skipped under ``--skip-bad``, with their reasons."""

    skipped: int = 0
    reasons: list[str] = field(default_factory=list)
    max_reasons: int = 50

    def add(self, description: str) -> None:
        self.skipped += 1
        if len(self.reasons) < self.max_reasons:
            self.reasons.append(description)
