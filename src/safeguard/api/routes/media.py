"""Media: upload (hashed in memory, never kept) or hash-only submission -> bank matches."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from safeguard.accounts import service as accounts
from safeguard.accounts.keys import KeyInfo
from safeguard.api.deps import Services, get_services, require
from safeguard.api.responses import JSON
from safeguard.api.schemas.common import ErrorOut
from safeguard.api.schemas.media import MediaDecisionOut, MediaHashesIn
from safeguard.errors import InputError
from safeguard.policy.models import EscalationRow

router = APIRouter(prefix="/v1", tags=["media"])

_REQUEST_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": MediaHashesIn.model_json_schema(ref_template="#/components/schemas/{model}")
        },
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file", "sender_id"],
                "properties": {
                    "file": {"type": "string", "format": "binary"},
                    "sender_id": {"type": "string", "minLength": 1, "maxLength": 128},
                    "recipient_ids": {"type": "string", "description": "comma-separated"},
                    "message_id": {"type": "string", "maxLength": 128},
                },
            }
        },
    },
}


@router.post(
    "/media",
    response_model=MediaDecisionOut,
    summary="Hash and match media, or match client-side hashes",
    openapi_extra={"requestBody": _REQUEST_BODY},
    responses={
        400: {"model": ErrorOut},
        415: {"model": ErrorOut},
        422: {"model": ErrorOut},
    },
)
async def post_media(
    request: Request,
    _key: KeyInfo = Depends(require("ingest")),
    services: Services = Depends(get_services),
) -> Response:
    """Upload an image (multipart ``file``) or send ``pdq``/``md5``/``sha256`` as JSON.

    The image is hashed in memory and discarded. A bank match blocks the media
    and escalates (``action = escalate``, a case is opened).
    """
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        submission, data = await _from_form(request)
    elif content_type.startswith("application/json"):
        try:
            submission = MediaHashesIn.model_validate_json(await request.body())
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "body"
            raise HTTPException(422, f"field '{field}': {first['msg']}") from None
        data = None
        if not (submission.pdq or submission.md5 or submission.sha256):
            raise HTTPException(422, "field 'pdq': give at least one of pdq, md5, sha256")
    else:
        raise HTTPException(415, "send multipart/form-data with 'file', or application/json hashes")
    body = await run_in_threadpool(_decide, services, submission, data)
    return JSON(body)


async def _from_form(request: Request) -> tuple[MediaHashesIn, bytes]:
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise HTTPException(422, "field 'file': missing image upload")
    data = await upload.read()
    if not data:
        raise HTTPException(422, "field 'file': empty upload")
    recipients = str(form.get("recipient_ids") or "")
    try:
        submission = MediaHashesIn(
            sender_id=str(form.get("sender_id") or ""),
            recipient_ids=[r.strip() for r in recipients.split(",") if r.strip()],
            message_id=(str(form["message_id"]) if form.get("message_id") else None),
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "body"
        raise HTTPException(422, f"field '{field}': {first['msg']}") from None
    return submission, data


def _decide(services: Services, submission: MediaHashesIn, data: bytes | None) -> dict:
    from safeguard.media.matching import match_hashes

    hashes = {
        "pdq": submission.pdq.lower() if submission.pdq else None,
        "pdq_quality": None,
        "md5": submission.md5.lower() if submission.md5 else None,
        "sha256": submission.sha256.lower() if submission.sha256 else None,
        "too_weak": False,
    }
    if data is not None:
        from safeguard.media.hashing import hash_image_bytes

        try:
            computed = hash_image_bytes(data)
        except InputError as exc:
            raise HTTPException(422, f"field 'file': {exc.reason}") from None
        hashes = {
            "pdq": computed.pdq,
            "pdq_quality": computed.pdq_quality,
            "md5": computed.md5,
            "sha256": computed.sha256,
            "too_weak": bool(computed.too_weak),
        }
    reasons: list[dict] = []
    with services.write() as session:
        matches = match_hashes(
            session,
            pdq=None if hashes["too_weak"] else hashes["pdq"],
            md5=hashes["md5"],
            sha256=hashes["sha256"],
        )
        found = [
            {
                "bank": str(m.bank),
                "entry_id": str(m.entry_id),
                "signal_type": str(m.signal_type),
                "distance": int(m.distance),
                "category": m.category,
                "source": m.source,
                "external_id": m.external_id,
            }
            for m in matches
        ]
        case_id = None
        if found:
            action = "escalate"
            reasons.append(
                {
                    "code": "hash_bank_match",
                    "detail": f"matches {len(found)} bank entr{'y' if len(found) == 1 else 'ies'}"
                    f" ({', '.join(sorted({m['bank'] for m in found}))}): blocked and escalated",
                    "account_id": submission.sender_id,
                }
            )
            for match in found:
                accounts.record_media_match(
                    session,
                    submission.sender_id,
                    match["bank"],
                    match["entry_id"],
                    match["category"],
                )
            session.flush()
            accounts.refresh_account_risk(session, submission.sender_id, services.settings)
            escalation = EscalationRow(
                id=uuid.uuid4().hex,
                kind="media",
                subject_account_id=submission.sender_id,
                recipient_ids=list(submission.recipient_ids),
                message_id=submission.message_id,
                risk=1.0,
                priority=0,
                reasons=reasons,
                evidence={"hashes": hashes, "matches": found},
                status="open",
            )
            session.add(escalation)
            case_id = escalation.id
            if services.engine.on_escalation is not None:
                services.engine.on_escalation(session, escalation)
        else:
            action = "allow"
            if hashes["too_weak"]:
                reasons.append(
                    {
                        "code": "pdq_too_weak",
                        "detail": "image has too little detail for PDQ matching; exact hashes were checked",
                        "account_id": None,
                    }
                )
    services.metrics.decisions.labels("media", action).inc()
    return {
        "action": action,
        "hashes": hashes,
        "matches": found,
        "reasons": reasons,
        "case_id": case_id,
    }
