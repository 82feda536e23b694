"""Request dependencies: the service container, API-key auth and rate limits."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import HTTPException, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from safeguard.accounts.keys import KeyInfo
from safeguard.service.container import MISS, Services

__all__ = ["Services", "bearer", "get_services", "require"]

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="An API key from `safeguard keys create`, sent as `Authorization: Bearer KEY`.",
)


async def get_services(request: Request) -> Services:
    """The app's service container."""
    return request.app.state.services


def require(*scopes: str) -> Callable[..., KeyInfo]:
    """A dependency admitting keys holding any of ``scopes`` (``admin`` holds all)."""
    needed = " or ".join(scopes)

    async def dependency(
        request: Request,
        credentials: HTTPAuthorizationCredentials | None = Security(bearer),
    ) -> KeyInfo:
        if credentials is None:
            raise HTTPException(
                401,
                "missing API key: send 'Authorization: Bearer KEY'",
                headers={"WWW-Authenticate": "Bearer"},
            )
        services: Services = request.app.state.services
        info = services.keys.cached(credentials.credentials)
        if info is MISS:
            info = await run_in_threadpool(services.keys.lookup, credentials.credentials)
        if info is None:
            raise HTTPException(401, "invalid or revoked API key", headers={"WWW-Authenticate": "Bearer"})
        if not any(info.allows(scope) for scope in scopes):
            raise HTTPException(403, f"this API key lacks the '{needed}' scope")
        allowed, retry_after = services.limiter.allow(info.id)
        if not allowed:
            services.metrics.rate_limited.labels("key").inc()
            raise HTTPException(
                429,
                "rate limit exceeded for this API key",
                headers={"Retry-After": str(max(1, round(retry_after)))},
            )
        request.state.key_id = info.id
        return info

    return dependency
