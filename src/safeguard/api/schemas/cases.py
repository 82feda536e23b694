"""Request and response types of the case, report and appeal endpoints."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from safeguard.api.schemas.common import Identifier

TargetType = Literal["message", "conversation", "account"]
Surface = Literal["dm", "group", "public", "unknown"]
ReportReason = Literal[
    "age_location_probe",
    "personal_info",
    "platform_move",
    "secrecy",
    "flattery_trust",
    "isolation",
    "gifts_money",
    "image_request",
    "sexual_content",
    "meeting",
    "coercion",
    "abuse_media",
    "harassment",
    "other",
]
DecisionName = Literal[
    "dismiss", "warn", "restrict", "suspend", "ban", "report_ncmec", "report_nca", "uphold", "overturn"
]


class UserReportIn(BaseModel):
    """A user (a child included) reports a message, a conversation or an account."""

    reporter_id: Identifier
    target_type: TargetType
    target_id: Identifier
    reason: ReportReason
    account_id: Identifier | None = Field(
        None, description="the reported account; found from the message when target_type is message"
    )
    details: str | None = Field(None, max_length=2000, description="what the reporter wants to tell us")
    surface: Surface | None = None


class AppealIn(BaseModel):
    """An actioned account appeals a decision."""

    account_id: Identifier
    case_id: Identifier
    statement: str = Field(min_length=1, max_length=4000)


class CaseCreatedOut(BaseModel):
    """The case opened for a report or appeal (no evidence is returned)."""

    case_id: str
    status: str


class CaseOut(BaseModel):
    """A case as the queue lists it."""

    id: str
    kind: str
    source: str
    status: str
    priority: float
    subject_account_id: str
    recipient_ids: list[str]
    conversation_id: str | None
    message_id: str | None
    target_type: str | None
    reporter_id: str | None
    reason: str | None
    appeal_of: str | None
    surface: str
    child_involved: bool
    risk: float
    categories: list[str]
    assignee: str | None
    decision: str | None
    actions: list[dict[str, Any]]
    legal_hold: bool
    created_at: str | None
    first_reviewed_at: str | None
    decided_at: str | None
    reported_at: str | None
    purged_at: str | None


class QueueOut(BaseModel):
    """One page of the queue, highest priority first."""

    total: int
    cases: list[CaseOut]


class CaseDetailOut(BaseModel):
    """A case with its evidence, conversation, timeline and the account's contact with children."""

    case: CaseOut
    evidence: list[dict[str, Any]]
    timeline: list[dict[str, Any]]
    notes: list[dict[str, Any]]
    signals: list[dict[str, Any]]
    conversation: list[dict[str, Any]]
    media: list[dict[str, Any]]
    contacts_with_children: dict[str, Any]
    account: dict[str, Any] | None = Field(
        None, description="account and connection metadata at case opening"
    )
    appeal_of: CaseOut | None


class DecisionIn(BaseModel):
    """A reviewer's decision."""

    decision: DecisionName
    note: str | None = Field(None, max_length=4000)


class NoteIn(BaseModel):
    """A reviewer's note."""

    text: str = Field(min_length=1, max_length=4000, pattern=r"\S")


class AssignIn(BaseModel):
    """Assign to a reviewer, or unassign with null."""

    assignee: Identifier | None = None


class LegalHoldIn(BaseModel):
    """Place or lift a legal hold."""

    legal_hold: bool


class VerifyOut(BaseModel):
    """The audit chain check."""

    ok: bool
    records: int
    first_bad_seq: int | None
    problem: str | None
    failed_checks: list[str] = Field(default_factory=list, description="e.g. truncated, case_row, decisions")
    report: list[str] = Field(default_factory=list, description="what was checked and what failed")
