"""Liveness and metrics."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from sqlalchemy import text

from safeguard.accounts.keys import KeyInfo
from safeguard.api.deps import Services, get_services, require

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness and database check (no key needed)")
def healthz(services: Services = Depends(get_services)) -> dict:
    """``{"status": "ok"}`` when the database answers."""
    with services.read() as session:
        session.execute(text("SELECT 1"))
    return {"status": "ok"}


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}},
)
def metrics(
    _key: KeyInfo = Depends(require("admin")), services: Services = Depends(get_services)
) -> Response:
    """Request, decision and webhook counters in the Prometheus text format."""
    return Response(services.metrics.render(), media_type="text/plain; version=0.0.4")
