"""Which Host names the service answers to, and redirects that never echo the Host header.

Requests naming any other host get 400 (Starlette's ``TrustedHostMiddleware``).
The framework's own redirects (a trailing slash added or dropped) are made
relative, so a ``Location`` never carries whatever ``Host`` a client sent.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence

from starlette.datastructures import MutableHeaders
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")
WILDCARD_BINDS = ("", "0.0.0.0", "::", "[::]")
REDIRECTS = frozenset({301, 302, 303, 307, 308})


def host_name(bind: str) -> str:
    """``bind`` as it appears in a Host header (IPv6 literals in brackets)."""
    bare = bind.strip("[]")
    try:
        return f"[{bare}]" if ipaddress.ip_address(bare).version == 6 else bare
    except ValueError:
        return bind.lower()


def default_allowed_hosts(bind: str | None) -> list[str]:
    """The loopback names plus the interface the server binds (this machine's names for a wildcard)."""
    hosts = list(LOOPBACK_HOSTS)
    if bind is None:
        return hosts
    if bind in WILDCARD_BINDS:
        extra = [socket.gethostname().lower(), socket.getfqdn().lower()]
    else:
        extra = [host_name(bind)]
    return hosts + [h for h in dict.fromkeys(extra) if h and h not in hosts]


def served_hosts(configured: Sequence[str] | None, bind: str | None) -> list[str]:
    """The configured host names, else the defaults for ``bind``."""
    return list(configured) if configured is not None else default_allowed_hosts(bind)


def trusted_hosts(app: ASGIApp, allowed_hosts: Sequence[str] | None) -> ASGIApp:
    """``app`` behind a Host check (no check when ``allowed_hosts`` is None)."""
    if allowed_hosts is None:
        return app
    return TrustedHostMiddleware(app, allowed_hosts=list(allowed_hosts), www_redirect=False)


class RelativeRedirects:
    """Rewrites a redirect to this request's own origin (``http://HOST/path``) as ``/path``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_relative(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] in REDIRECTS:
                headers = MutableHeaders(scope=message)
                location = headers.get("location", "")
                own = _own_origin(scope)
                if own and location.startswith(own) and location[len(own) : len(own) + 1] in ("/", ""):
                    headers["location"] = location[len(own) :] or "/"
            await send(message)

        await self.app(scope, receive, send_relative)


def _own_origin(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"host":
            return f"{scope.get('scheme', 'http')}://{value.decode('latin-1')}"
    return None
