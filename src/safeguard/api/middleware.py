"""ASGI middleware: request-size limits (headers and body), metrics and one structured log line per request.

Logs carry method, route template, status, latency and key id: never bodies.
"""

from __future__ import annotations

import time

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from safeguard.service.metrics import Metrics

log = structlog.get_logger("safeguard.api")


class ServiceMiddleware:
    """Rejects headers over the limit with 431 and bodies over it with 413, records metrics,
    logs each request. (`safeguard serve` also stops oversized headers while they arrive.)"""

    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: Metrics,
        max_body_bytes: int,
        large_body_paths: dict[str, int],
        max_header_bytes: int = 32 * 1024,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        self.large_body_paths = large_body_paths
        self.max_header_bytes = max_header_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        limit = self.large_body_paths.get(scope["path"], self.max_body_bytes)
        status = {"code": 500}
        too_large = False
        rejected = False

        async def send_wrapper(message: Message) -> None:
            nonlocal rejected
            if too_large:
                # The body was cut off: whatever the app answers, the client gets 413.
                if not rejected:
                    rejected = True
                    status["code"] = 413
                    await _reject(send, limit)
                return
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        received = 0

        async def receive_wrapper() -> Message:
            nonlocal received, too_large
            if too_large:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    too_large = True
                    return {"type": "http.disconnect"}
            return message

        length = _content_length(scope)
        try:
            if header_bytes(scope) > self.max_header_bytes:
                await _refuse_headers(send, self.max_header_bytes)
                status["code"] = 431
            elif length is not None and length > limit:
                await _reject(send, limit)
                status["code"] = 413
            else:
                await self.app(scope, receive_wrapper, send_wrapper)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            elapsed = time.perf_counter() - start
            self.metrics.requests.labels(scope["method"], template, str(status["code"])).inc()
            self.metrics.latency.labels(template).observe(elapsed)
            state = scope.get("state") or {}
            log.debug(
                "request",
                method=scope["method"],
                route=template,
                status=status["code"],
                ms=round(elapsed * 1000, 3),
                key_id=state.get("key_id") if isinstance(state, dict) else None,
            )


def header_bytes(scope: Scope) -> int:
    """Bytes of the request's target and headers (names, values and separators)."""
    size = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"")
    for name, value in scope.get("headers", ()):
        size += len(name) + len(value) + 4
    return size


async def _refuse_headers(send: Send, limit: int) -> None:
    body = b'{"detail":"request headers are larger than %d bytes","field":"headers"}' % limit
    await send(
        {
            "type": "http.response.start",
            "status": 431,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _reject(send: Send, limit: int) -> None:
    body = b'{"detail":"request body is larger than %d bytes","field":"body"}' % limit
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
