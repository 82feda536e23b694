"""Console login throttling (`limits`): per address and username, per address, per username, in all.

Every attempt is counted before its password is checked, so attempts sent in
parallel count too. Each scope has tiers of growing windows (moving windows);
a guesser who keeps going meets a longer tier each time, so the wait it is
told (``Retry-After``) grows. The per-username and global limits refuse only
addresses that have failed recently (for that username, or at all): someone
guessing the admin's password slows themselves, never the admin on a clean
address. Counters live in memory, or in Redis so several workers share them.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse, parse_many
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter

from safeguard.web.settings import ConsoleSettings

NAMESPACE = "console-login"
ADDRESS_USER, ADDRESS, USERNAME, EVERYONE = "address and username", "address", "username", "all logins"
# How long an address counts as having failed (a fixed window from its first failure).
FAILURE_MEMORY = parse("1000000/hour")


@dataclass(frozen=True, slots=True)
class Refusal:
    """A login attempt refused before any password check, and why."""

    scope: str
    limit: str
    retry_after: int

    @property
    def reason(self) -> str:
        """What was exceeded, for the page and the log."""
        return f"too many login attempts ({self.scope}: at most {self.limit}); retry in {self.retry_after} s"


@dataclass(frozen=True, slots=True)
class Scope:
    """One counter family an attempt falls under, and whether exhausting it refuses this attempt."""

    name: str
    keys: tuple[str, ...]
    enforced: bool


def scopes_for(address: str, username: str, *, failed_here: bool, address_failed: bool) -> tuple[Scope, ...]:
    """The scopes an attempt counts in, narrowest first (a pure rule).

    Per-username and global limits bind only an address that has itself failed
    recently, so nobody else's guessing can lock a user out of a clean address.
    """
    return (
        Scope(ADDRESS_USER, (address, username), True),
        Scope(ADDRESS, (address,), True),
        Scope(USERNAME, (username,), failed_here),
        Scope(EVERYONE, (), address_failed),
    )


class LoginThrottle:
    """Counts console login attempts and failures; see the module docstring for the rules."""

    def __init__(self, settings: ConsoleSettings) -> None:
        storage = storage_from_string(settings.throttle_storage_url, wrap_exceptions=True)
        self._window = MovingWindowRateLimiter(storage)
        self._marks = FixedWindowRateLimiter(storage)
        self._tiers: dict[str, list[RateLimitItem]] = {
            ADDRESS_USER: parse_many(settings.login_limits_address_user),
            ADDRESS: parse_many(settings.login_limits_address),
            USERNAME: parse_many(settings.login_limits_user),
            EVERYONE: parse_many(settings.login_limits_global),
        }

    def admit(self, address: str, username: str) -> Refusal | None:
        """Count this attempt; a refusal when an enforced tier is already full.

        Tiers are taken narrowest and shortest first and counting stops at the
        first full one, so refused attempts do not use up wider limits.
        """
        scopes = scopes_for(
            address,
            username,
            failed_here=self._failed(ADDRESS_USER, address, username),
            address_failed=self._failed(ADDRESS, address),
        )
        for scope in scopes:
            for limit in self._tiers[scope.name]:
                if self._window.hit(limit, NAMESPACE, scope.name, *scope.keys):
                    continue
                if scope.enforced:
                    return self._refusal(scope, limit)
                break
        return None

    def failed(self, address: str, username: str) -> None:
        """Remember that this address failed (for this username and at all)."""
        self._marks.hit(FAILURE_MEMORY, NAMESPACE, "failed", ADDRESS_USER, address, username)
        self._marks.hit(FAILURE_MEMORY, NAMESPACE, "failed", ADDRESS, address)

    def succeeded(self, address: str, username: str) -> None:
        """The right password: this address's count for this username starts again."""
        for limit in self._tiers[ADDRESS_USER]:
            self._window.clear(limit, NAMESPACE, ADDRESS_USER, address, username)
        self._marks.clear(FAILURE_MEMORY, NAMESPACE, "failed", ADDRESS_USER, address, username)

    def _failed(self, scope: str, *keys: str) -> bool:
        stats = self._marks.get_window_stats(FAILURE_MEMORY, NAMESPACE, "failed", scope, *keys)
        return stats.remaining < FAILURE_MEMORY.amount

    def _refusal(self, scope: Scope, full: RateLimitItem) -> Refusal:
        """The wait for ``full`` or, when several of the scope's tiers are full, the longest one."""
        full_tiers = [
            limit
            for limit in self._tiers[scope.name]
            if limit is full or not self._window.test(limit, NAMESPACE, scope.name, *scope.keys)
        ]
        resets = {
            limit: self._window.get_window_stats(limit, NAMESPACE, scope.name, *scope.keys).reset_time
            for limit in full_tiers
        }
        longest = max(resets, key=lambda limit: resets[limit])
        return Refusal(scope.name, str(longest), max(1, math.ceil(resets[longest] - time.time())))
