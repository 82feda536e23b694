"""Cases: user reports and appeals (ingest), the review queue and decisions (review)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query

from safeguard.accounts.keys import KeyInfo
from safeguard.api.deps import Services, get_services, require
from safeguard.api.schemas.cases import (
    AppealIn,
    AssignIn,
    CaseCreatedOut,
    CaseDetailOut,
    CaseOut,
    DecisionIn,
    LegalHoldIn,
    NoteIn,
    QueueOut,
    UserReportIn,
)
from safeguard.api.schemas.common import ErrorOut, error_responses
from safeguard.cases import service as cases

router = APIRouter(prefix="/v1", tags=["cases"], responses=error_responses(401, 403, 413, 422, 429))
CaseId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
NOT_FOUND = {404: {"model": ErrorOut, "description": "no such case"}, 400: {"model": ErrorOut}}


def actor_of(key: KeyInfo) -> str:
    """How an API key appears in the audit log."""
    return f"key:{key.id}"


def not_found(exc: cases.CaseNotFound) -> HTTPException:
    """The 404 for a missing case."""
    return HTTPException(404, str(exc))


@router.post(
    "/reports",
    response_model=CaseCreatedOut,
    status_code=201,
    summary="Report a message, conversation or account",
    responses={400: {"model": ErrorOut}},
)
def post_report(
    body: UserReportIn,
    _key: KeyInfo = Depends(require("ingest")),
    services: Services = Depends(get_services),
) -> CaseCreatedOut:
    """Any user, a child included, reports something; it becomes a case in the queue."""
    with services.write() as session:
        case = cases.open_report(
            session,
            services.settings,
            reporter_id=body.reporter_id,
            target_type=body.target_type,
            target_id=body.target_id,
            reason=body.reason,
            details=body.details,
            account_id=body.account_id,
            surface=body.surface,
        )
        return CaseCreatedOut(case_id=case.id, status=case.status)


@router.post(
    "/appeals",
    response_model=CaseCreatedOut,
    status_code=201,
    summary="Appeal a decision",
    responses=NOT_FOUND,
)
def post_appeal(
    body: AppealIn,
    _key: KeyInfo = Depends(require("ingest")),
    services: Services = Depends(get_services),
) -> CaseCreatedOut:
    """An actioned account appeals an enforcement decision; the appeal is a case."""
    try:
        with services.write() as session:
            case = cases.open_appeal(
                session,
                services.settings,
                account_id=body.account_id,
                case_id=body.case_id,
                statement=body.statement,
            )
            return CaseCreatedOut(case_id=case.id, status=case.status)
    except cases.CaseNotFound as exc:
        raise not_found(exc) from None


@router.get("/cases", response_model=QueueOut, summary="The review queue")
def get_queue(
    status: Literal["open", "closed", "any"] = "open",
    kind: Literal["grooming", "media_match", "account_risk", "user_report", "appeal"] | None = None,
    source: Literal["automated", "user_report", "appeal"] | None = None,
    surface: Literal["dm", "group", "public", "unknown"] | None = None,
    category: Annotated[str | None, Query(max_length=32)] = None,
    child_involved: bool | None = None,
    assignee: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
    _key: KeyInfo = Depends(require("review")),
    services: Services = Depends(get_services),
) -> QueueOut:
    """Cases sorted by priority (see ``safeguard.cases.priority``), with filters."""
    filters = cases.QueueFilters(
        status=None if status == "any" else status,
        kind=kind,
        source=source,
        surface=surface,
        category=category,
        child_involved=child_involved,
        assignee=assignee,
        limit=limit,
        offset=offset,
    )
    with services.read() as session:
        items, total = cases.queue(session, services.settings, filters)
        return QueueOut(total=total, cases=[CaseOut(**cases.case_dict(i.case)) for i in items])


@router.get(
    "/cases/{case_id}", response_model=CaseDetailOut, responses=NOT_FOUND, summary="A case and its evidence"
)
def get_case(
    case_id: CaseId,
    key: KeyInfo = Depends(require("review")),
    services: Services = Depends(get_services),
) -> CaseDetailOut:
    """The case with its evidence, conversation, timeline and contacts with children (audited)."""
    try:
        with services.write() as session:
            view = cases.view_case(session, services.settings, case_id, actor=actor_of(key))
            return CaseDetailOut(**view)
    except cases.CaseNotFound as exc:
        raise not_found(exc) from None


@router.post(
    "/cases/{case_id}/decisions", response_model=CaseOut, responses=NOT_FOUND, summary="Decide a case"
)
def post_decision(
    case_id: CaseId,
    body: DecisionIn,
    key: KeyInfo = Depends(require("review")),
    services: Services = Depends(get_services),
) -> CaseOut:
    """Dismiss, warn, restrict, suspend, ban, report to NCMEC or the NCA (appeals: uphold, overturn)."""
    try:
        with services.write() as session:
            case = cases.decide(
                session,
                services.settings,
                case_id,
                decision=body.decision,
                actor=actor_of(key),
                note=body.note,
            )
            return CaseOut(**cases.case_dict(case))
    except cases.CaseNotFound as exc:
        raise not_found(exc) from None


@router.post("/cases/{case_id}/notes", response_model=CaseOut, responses=NOT_FOUND, summary="Add a note")
def post_note(
    case_id: CaseId,
    body: NoteIn,
    key: KeyInfo = Depends(require("review")),
    services: Services = Depends(get_services),
) -> CaseOut:
    """Add a reviewer note to the case's trail."""
    try:
        with services.write() as session:
            case = cases.add_note(session, services.settings, case_id, actor=actor_of(key), text=body.text)
            return CaseOut(**cases.case_dict(case))
    except cases.CaseNotFound as exc:
        raise not_found(exc) from None


@router.put(
    "/cases/{case_id}/assignee", response_model=CaseOut, responses=NOT_FOUND, summary="Reassign a case"
)
def put_assignee(
    case_id: CaseId,
    body: AssignIn,
    key: KeyInfo = Depends(require("review")),
    services: Services = Depends(get_services),
) -> CaseOut:
    """Assign the case to a reviewer (or unassign it with null)."""
    try:
        with services.write() as session:
            case = cases.assign(
                session, services.settings, case_id, assignee=body.assignee, actor=actor_of(key)
            )
            return CaseOut(**cases.case_dict(case))
    except cases.CaseNotFound as exc:
        raise not_found(exc) from None


@router.put(
    "/cases/{case_id}/legal-hold",
    response_model=CaseOut,
    responses=NOT_FOUND,
    summary="Place or lift a legal hold",
)
def put_legal_hold(
    case_id: CaseId,
    body: LegalHoldIn,
    key: KeyInfo = Depends(require("admin")),
    services: Services = Depends(get_services),
) -> CaseOut:
    """A case under legal hold is never purged (admin only)."""
    try:
        with services.write() as session:
            case = cases.set_legal_hold(
                session, services.settings, case_id, hold=body.legal_hold, actor=actor_of(key)
            )
            return CaseOut(**cases.case_dict(case))
    except cases.CaseNotFound as exc:
        raise not_found(exc) from None
