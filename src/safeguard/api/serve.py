"""Run the service with uvicorn: uvloop + httptools, no access log (the service
logs each request itself, without bodies), one or several worker processes.

Requests must name an allowed host (the loopback names and ``--host`` unless
``[http] allowed_hosts`` says otherwise), and a request whose line and headers
pass ``[http] max_header_bytes`` is answered 431 and its connection closed
while it is still arriving, before the parser buffers it.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import structlog
import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from safeguard.api.hosts import served_hosts
from safeguard.api.ratelimit import share_limits
from safeguard.config import Settings, get_settings
from safeguard.runtime import freeze_startup_objects

_WORKERS = "SAFEGUARD_SERVE_WORKERS"
_LOG_LEVEL = "SAFEGUARD_SERVE_LOG_LEVEL"
_HOST = "SAFEGUARD_SERVE_HOST"
_HEADERS_END = b"\r\n\r\n"


class HeaderCappedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, refusing (431, connection closed) a request whose
    line and headers pass ``[http] max_header_bytes`` before handing them to the parser,
    which would otherwise buffer any amount."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.max_header_bytes = get_settings().http.max_header_bytes
        self._header_bytes = 0
        self._in_headers = True
        self._tail = b""

    def data_received(self, data: bytes) -> None:
        if self._in_headers:
            room = self.max_header_bytes - self._header_bytes
            if len(data) > room and _HEADERS_END not in self._tail + data[: max(room, 0) + 4]:
                self._refuse()
                return
            self._header_bytes += len(data)
            self._tail = data[-3:]
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._in_headers = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_headers, self._header_bytes, self._tail = True, 0, b""

    def _refuse(self) -> None:
        if self.transport.is_closing():
            return
        self.logger.warning("Request headers over %d bytes: refused with 431.", self.max_header_bytes)
        body = (
            b'{"detail":"request headers are larger than %d bytes","field":"headers"}' % self.max_header_bytes
        )
        self.transport.write(
            b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json\r\n"
            b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(body), body)
        )
        self.transport.close()


def per_process_settings(settings: Settings, workers: int) -> Settings:
    """Settings for one of ``workers`` processes: with counters in process memory, each
    holds its share of the rate limits (per key and per sender)."""
    if workers <= 1 or not settings.api.rate_limit_storage.startswith("memory://"):
        return settings  # one process, or counters every process shares
    api = settings.api.model_copy(
        update={
            "rate_per_second": settings.api.rate_per_second / workers,
            "burst": max(1, settings.api.burst // workers),
            "sender_limits": share_limits(settings.api.sender_limits, workers),
        }
    )
    return settings.model_copy(update={"api": api})


def app_factory() -> FastAPI:
    """The app one uvicorn worker process serves (settings from the file and environment)."""
    from safeguard.api.app import create_app

    settings = get_settings()
    level = os.environ.get(_LOG_LEVEL)
    if level:
        settings = settings.model_copy(update={"log_level": level})
    hosts = served_hosts(settings.http.allowed_hosts, os.environ.get(_HOST))
    app = create_app(per_process_settings(settings, int(os.environ.get(_WORKERS, "1"))), allowed_hosts=hosts)
    freeze_startup_objects()
    return app


def run(*, host: str = "127.0.0.1", port: int = 8000, log_level: str = "info", workers: int = 1) -> None:
    """Serve the app on ``host:port`` with ``workers`` processes until interrupted.

    Several workers share the port (uvicorn's supervisor) and the database: on
    PostgreSQL conversations are locked per row; on SQLite write transactions
    take turns on a file lock. Metrics are aggregated over the processes.
    """
    if workers < 1:
        raise ValueError("workers must be at least 1")
    os.environ[_WORKERS] = str(workers)
    os.environ[_HOST] = host
    if log_level:
        os.environ[_LOG_LEVEL] = log_level
    metrics_dir = None
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        metrics_dir = tempfile.mkdtemp(prefix="safeguard-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    settings = get_settings()
    hosts = served_hosts(settings.http.allowed_hosts, host)
    structlog.get_logger("safeguard.api").info(
        "serving",
        url=f"http://{host}:{port}",
        docs=f"http://{host}:{port}/docs",
        workers=workers,
        allowed_hosts=hosts,
    )
    try:
        uvicorn.run(
            "safeguard.api.serve:app_factory",
            factory=True,
            host=host,
            port=port,
            log_level="warning" if log_level == "info" else log_level,
            access_log=False,
            proxy_headers=False,
            loop="uvloop",
            http="safeguard.api.serve:HeaderCappedProtocol",
            h11_max_incomplete_event_size=settings.http.max_header_bytes,
            workers=workers,
            backlog=2048,
        )
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)
