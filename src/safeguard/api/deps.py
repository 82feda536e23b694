"""Request dependencies: the service container, sessions, API-key auth and rate limits."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from fastapi import HTTPException, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker

from safeguard.accounts.keys import KeyInfo, hash_key, verify_key
from safeguard.api.maintenance import Maintenance
from safeguard.api.metrics import Metrics
from safeguard.api.ratelimit import RateLimiter
from safeguard.api.warmup import Warmup
from safeguard.api.webhooks import WebhookWorker
from safeguard.config import Settings
from safeguard.policy.engine import MessageEngine

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="An API key from `safeguard keys create`, sent as `Authorization: Bearer KEY`.",
)


_MISS = object()


class KeyCache:
    """Verified keys by hash for ``ttl`` seconds, so auth costs no query per request.

    A revoked key stops working within ``ttl`` seconds in a running server.
    """

    def __init__(self, session_factory: sessionmaker[Session], ttl: float = 5.0) -> None:
        self.session_factory = session_factory
        self.ttl = ttl
        self._cache: dict[str, tuple[KeyInfo | None, float]] = {}
        self._lock = threading.Lock()

    def cached(self, secret: str) -> KeyInfo | object | None:
        """The cached answer for ``secret``, or ``_MISS`` when a lookup is needed."""
        hit = self._cache.get(hash_key(secret))
        if hit is not None and hit[1] > time.monotonic():
            return hit[0]
        return _MISS

    def lookup(self, secret: str) -> KeyInfo | None:
        """The key's info, or None when unknown or revoked."""
        digest = hash_key(secret)
        now = time.monotonic()
        hit = self._cache.get(digest)
        if hit is not None and hit[1] > now:
            return hit[0]
        with self.session_factory() as session:
            info = verify_key(session, secret)
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[digest] = (info, now + self.ttl)
        return info


@dataclass
class Services:
    """Everything a request handler needs, built once per app."""

    settings: Settings
    session_factory: sessionmaker[Session]
    engine: MessageEngine
    keys: KeyCache
    limiter: RateLimiter
    metrics: Metrics
    webhooks: WebhookWorker
    maintenance: Maintenance
    warmup: Warmup

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction, committed before the response is sent."""
        with self.engine.writer():
            session = self.session_factory()
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
            finally:
                session.close()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session."""
        session = self.session_factory()
        try:
            yield session
        finally:
            session.rollback()
            session.close()


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
        if info is _MISS:
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
