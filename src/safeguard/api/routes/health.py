"""Liveness, readiness and metrics."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text

from safeguard.accounts.keys import KeyInfo
from safeguard.api.deps import Services, get_services, require

router = APIRouter(tags=["health"])
READY_DB_TIMEOUT_MS = 2000  # the readiness probe's database check gives up after this


@router.get("/healthz", summary="Liveness and database check (no key needed)")
def healthz(services: Services = Depends(get_services)) -> dict:
    """``{"status": "ok"}`` when the database answers."""
    with services.read() as session:
        session.execute(text("SELECT 1"))
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness: database, shared rate-limit store and models loaded (no key needed)",
    responses={503: {"description": "not ready yet (or a dependency is down): see the checks"}},
)
def readyz(services: Services = Depends(get_services)) -> JSONResponse:
    """200 once the service can decide messages as configured: the database answers, the
    shared rate-limit store (Redis, when configured) answers, the event stream's Redis
    (``[stream] url``, when set) answers, and the models are loaded."""
    checks: dict[str, str] = {}
    try:
        with services.read() as session:
            if session.get_bind().dialect.name == "postgresql":
                session.execute(text(f"SET LOCAL statement_timeout = {READY_DB_TIMEOUT_MS}"))
            session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"failed: {type(exc).__name__}"
    if services.limiter.shared:
        checks["rate_limit_storage"] = "ok" if services.limiter.storage_ok() else "failed: unreachable"
    if services.status.stream is not None:
        checks["stream"] = "ok" if services.status.stream.ping() else "failed: unreachable"
    checks.update(services.warmup.status)
    ready = all(value in ("ok", "loaded", "unavailable") for value in checks.values())
    body = {"status": "ready" if ready else "not_ready", "checks": checks}
    return JSONResponse(body, 200 if ready else 503)


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
