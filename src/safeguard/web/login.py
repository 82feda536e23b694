"""One console login attempt: throttle, password check away from the database, then a session.

The stored hash is read in a short read-only session; argon2 then runs in a
thread (at most ``hash_concurrency`` at once) with no transaction open and no
lock held, so logins never hold up message decisions. Only a right password
opens a write transaction (the session and its audit record). An unknown
username costs the same as a known one and writes nothing; a wrong password for
a known user is audited after the response has gone, so timing does not tell
the two apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import anyio
import structlog
from fastapi.concurrency import run_in_threadpool

from safeguard.cases import service as cases
from safeguard.service.container import Services
from safeguard.web import auth
from safeguard.web.models import ConsoleUser
from safeguard.web.settings import ConsoleSettings
from safeguard.web.throttle import LoginThrottle, Refusal

log = structlog.get_logger("safeguard.console")
# Counted under this name when the username could not name any user.
MALFORMED_USERNAME = "?malformed"


@dataclass(frozen=True, slots=True)
class LoginOutcome:
    """A session token, or why there is none (a refusal before checking, or a wrong password)."""

    token: str | None = None
    refusal: Refusal | None = None
    known_user: bool = False


class ConsoleLogin:
    """Checks console logins for one app; holds the throttle and the argon2 thread limit."""

    def __init__(self, services: Services, settings: ConsoleSettings) -> None:
        self.services = services
        self.settings = settings
        self.throttle = LoginThrottle(settings)
        self._hashing = anyio.CapacityLimiter(settings.hash_concurrency)

    async def attempt(self, address: str, username: str, password: str) -> LoginOutcome:
        """Throttle, check the password outside any transaction, open a session if right."""
        name = username if auth.valid_username(username) else MALFORMED_USERNAME
        refusal, stored = await run_in_threadpool(self._admit, address, name)
        if refusal is not None:
            log.info("login_refused", scope=refusal.scope, limit=refusal.limit, address=address)
            return LoginOutcome(refusal=refusal)
        check = await anyio.to_thread.run_sync(auth.check_password, stored, password, limiter=self._hashing)
        token = await run_in_threadpool(self._open_session, name, check) if check.ok else None
        if token is None:
            await run_in_threadpool(self.throttle.failed, address, name)
            log.info("login_failed", known_user=stored is not None, address=address)
            return LoginOutcome(known_user=stored is not None)
        await run_in_threadpool(self.throttle.succeeded, address, name)
        return LoginOutcome(token=token)

    def audit_failure(self, username: str, address: str) -> None:
        """Record a known user's failed login in the audit chain (run after the response)."""
        with self.services.write() as session:
            cases.audit(session, f"console:{username}", "login_failed", None, {"address": address})

    def _admit(self, address: str, name: str) -> tuple[Refusal | None, str | None]:
        refusal = self.throttle.admit(address, name)
        if refusal is not None:
            return refusal, None
        with self.services.read() as session:
            return None, auth.password_hash_of(session, name)

    def _open_session(self, name: str, check: auth.PasswordCheck) -> str | None:
        with self.services.write() as session:
            user = session.get(ConsoleUser, name)
            if user is None or user.disabled_at is not None:
                return None
            if check.upgraded_hash:
                user.password_hash = check.upgraded_hash
            cases.audit(session, f"console:{user.username}", "login", None, {"role": user.role})
            return auth.start_session(session, user, self.settings.session_hours)
