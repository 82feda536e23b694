"""Run the service with uvicorn: uvloop + httptools, no access log (the service
logs each request itself, without bodies), one or several worker processes.

Requests must name an allowed host (the loopback names and ``--host`` unless
``[http] allowed_hosts`` says otherwise), and a request whose line and headers
pass ``[http] max_header_bytes`` is answered 431 and its connection closed
while it is still arriving (:mod:`safeguard.api.protocol`).
"""

from __future__ import annotations

import os
import shutil
import tempfile

import structlog
import uvicorn
from fastapi import FastAPI

from safeguard.api.hosts import served_hosts
from safeguard.config import Settings, get_settings
from safeguard.runtime import freeze_startup_objects
from safeguard.service.ratelimit import share_limits

_WORKERS = "SAFEGUARD_SERVE_WORKERS"
_LOG_LEVEL = "SAFEGUARD_SERVE_LOG_LEVEL"
_HOST = "SAFEGUARD_SERVE_HOST"


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
    from safeguard.server.app import create_app

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
            "safeguard.server.serve:app_factory",
            factory=True,
            host=host,
            port=port,
            log_level="warning" if log_level == "info" else log_level,
            access_log=False,
            proxy_headers=False,
            loop="uvloop",
            http="safeguard.api.protocol:HeaderCappedProtocol",
            h11_max_incomplete_event_size=settings.http.max_header_bytes,
            workers=workers,
            backlog=2048,
        )
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)
