"""Reports: CyberTipline XML and NCA JSON per case, transparency statistics, audit verify."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, Response

from safeguard.accounts.keys import KeyInfo
from safeguard.api.deps import Services, get_services, require
from safeguard.api.responses import JSON
from safeguard.api.routes.cases import NOT_FOUND, CaseId, actor_of, not_found
from safeguard.api.schemas.cases import VerifyOut
from safeguard.api.schemas.common import error_responses
from safeguard.cases.service import CaseNotFound
from safeguard.errors import InputError
from safeguard.evidence.audit import audit_configured
from safeguard.reports import context, cybertipline, nca, transparency

router = APIRouter(prefix="/v1", tags=["reports"], responses=error_responses(401, 403, 413, 422, 429))


@router.get(
    "/cases/{case_id}/reports/cybertipline",
    summary="NCMEC CyberTipline XML for a case",
    responses={**NOT_FOUND, 200: {"content": {"application/xml": {"schema": {"type": "string"}}}}},
    response_class=Response,
)
def get_cybertipline(
    case_id: CaseId,
    key: KeyInfo = Depends(require("review")),
    services: Services = Depends(get_services),
) -> Response:
    """The CyberTipline report document (the export is audited)."""
    try:
        with services.write() as session:
            ctx = context.load(
                session, services.settings, case_id, actor=actor_of(key), report="cybertipline"
            )
            document = cybertipline.to_xml(ctx)
    except CaseNotFound as exc:
        raise not_found(exc) from None
    return Response(document, media_type="application/xml")


@router.get("/cases/{case_id}/reports/nca", summary="UK NCA report payload for a case", responses=NOT_FOUND)
def get_nca(
    case_id: CaseId,
    key: KeyInfo = Depends(require("review")),
    services: Services = Depends(get_services),
) -> Response:
    """The NCA report payload as JSON (the export is audited)."""
    try:
        with services.write() as session:
            ctx = context.load(session, services.settings, case_id, actor=actor_of(key), report="nca")
            payload = nca.build(ctx)
    except CaseNotFound as exc:
        raise not_found(exc) from None
    return JSON(payload)


@router.get(
    "/reports/transparency",
    summary="Transparency statistics",
    responses={
        422: {"description": "a date outside 2000-01-01..2999-12-31 or 'to' before 'from' (names the field)"},
        200: {
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "text/csv": {"schema": {"type": "string"}},
                "text/html": {"schema": {"type": "string"}},
            }
        },
    },
)
def get_transparency(
    start: Annotated[date, Query(alias="from")],
    end: Annotated[date, Query(alias="to")],
    fmt: Annotated[Literal["json", "csv", "html"], Query(alias="format")] = "json",
    _key: KeyInfo = Depends(require("review")),
    services: Services = Depends(get_services),
) -> Response:
    """Counts by category and surface, automated vs reported, review times, automated precision."""
    try:
        transparency.check_range(start, end)
    except InputError as exc:
        return JSON({"detail": exc.describe(), "field": exc.field}, status_code=422)
    with services.read() as session:
        stats = transparency.compute(session, services.settings, start, end)
    if fmt == "csv":
        return Response(transparency.to_csv(stats), media_type="text/csv")
    if fmt == "html":
        return HTMLResponse(transparency.to_html(stats))
    return JSON({"rows": [{"metric": m, "dimension": d, "value": v} for m, d, v in stats.rows()]})


@router.get("/audit/verify", response_model=VerifyOut, summary="Verify the evidence and audit chain")
def get_verify(
    _key: KeyInfo = Depends(require("admin")),
    services: Services = Depends(get_services),
) -> VerifyOut:
    """Walk the hash chain, check it against the signed checkpoints and the case and decision
    tables against it (``safeguard audit verify``); name every failed check (admin only)."""
    with services.read() as session:
        report = audit_configured(session, services.settings)
    result = report.chain
    return VerifyOut(
        ok=report.ok,
        records=result.records,
        first_bad_seq=result.first_bad_seq,
        problem=result.problem,
        failed_checks=report.failed_checks(),
        report=report.lines(),
    )
