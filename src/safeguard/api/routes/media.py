"""Media: upload (hashed and screened in memory, never kept) or hash-only submission.

The decision itself is :func:`safeguard.policy.media.decide_media` (bank
matches, then nudity protection when a child or teen account takes part).
"""

from __future__ import annotations

from contextlib import aclosing
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from safeguard.accounts.keys import KeyInfo
from safeguard.api.deps import Services, get_services, require
from safeguard.api.responses import JSON
from safeguard.api.schemas.common import ErrorOut, error_responses
from safeguard.api.schemas.media import MediaDecisionOut, MediaHashesIn
from safeguard.errors import InputError
from safeguard.policy.media import decide_media

router = APIRouter(prefix="/v1", tags=["media"], responses=error_responses(401, 403, 413, 422, 429))

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
                    "conversation_id": {
                        "type": "string",
                        "maxLength": 128,
                        "description": "record the image in this conversation's risk",
                    },
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

    The image is hashed (and, when a child or teen account takes part, screened
    for nudity) in memory and discarded. A bank match blocks the media and
    escalates (``action = escalate``, a case is opened). Otherwise ``nudity``
    says whether to blur and warn (child recipient) or warn before sending
    (child sender); hash-only submissions may carry the device's ``nudity_score``.
    An image over the ``[media]`` size limits is refused before decoding (422 naming
    ``file`` and the limit); one that cannot be screened while a child or teen takes
    part is never silently allowed (protective actions, or 422 when so configured).
    """
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        submission, data = await _from_form(request, services)
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
    scorer = getattr(request.app.state, "nudity_scorer", None)  # tests inject a stub here
    body = await run_in_threadpool(decide, services, submission, data, scorer)
    return JSON(body)


def decide(services: Services, submission: MediaHashesIn, data: bytes | None, scorer: Any = None) -> dict:
    """``decide_media`` with the app's services; a bad image is a 422 naming ``file``."""
    try:
        return decide_media(
            submission,
            data,
            write=services.write,
            settings=services.settings,
            on_escalation=services.engine.on_escalation,
            metrics=services.metrics,
            update_conversation=services.engine.update_conversation,
            nudity_scorer=scorer,
        )
    except InputError as exc:
        raise HTTPException(422, f"field '{exc.field or 'file'}': {exc.reason}") from None


async def _read_form(request: Request, services: Services) -> FormData:
    """The multipart form with every part kept in memory.

    Starlette spools file parts over 1 MiB to a temporary file on disk; the
    image must never touch the disk, so the spool limit is raised to the
    largest body the service accepts for media.
    """
    try:
        async with aclosing(request.stream()) as stream:
            parser = MultiPartParser(request.headers, stream)
            parser.spool_max_size = max(services.settings.api.max_media_bytes, parser.spool_max_size) + 1
            return await parser.parse()
    except MultiPartException as exc:
        raise HTTPException(400, exc.message) from None


async def _from_form(request: Request, services: Services) -> tuple[MediaHashesIn, bytes]:
    form = await _read_form(request, services)
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise HTTPException(422, "field 'file': missing image upload")
    data = await upload.read()
    await upload.close()
    if not data:
        raise HTTPException(422, "field 'file': empty upload")
    recipients = str(form.get("recipient_ids") or "")
    try:
        submission = MediaHashesIn(
            sender_id=str(form.get("sender_id") or ""),
            recipient_ids=[r.strip() for r in recipients.split(",") if r.strip()],
            message_id=(str(form["message_id"]) if form.get("message_id") else None),
            conversation_id=(str(form["conversation_id"]) if form.get("conversation_id") else None),
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "body"
        raise HTTPException(422, f"field '{field}': {first['msg']}") from None
    return submission, data

