"""Run the service with uvicorn: one process, uvloop + httptools, no access log
(the service logs each request itself, without bodies)."""

from __future__ import annotations

import structlog
import uvicorn

from safeguard.config import get_settings


def run(*, host: str = "127.0.0.1", port: int = 8000, log_level: str = "info") -> None:
    """Serve ``create_app()`` on ``host:port`` until interrupted."""
    from safeguard.api.app import create_app

    settings = get_settings()
    if log_level:
        settings = settings.model_copy(update={"log_level": log_level})
    app = create_app(settings)
    structlog.get_logger("safeguard.api").info(
        "serving", url=f"http://{host}:{port}", docs=f"http://{host}:{port}/docs"
    )
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning" if log_level == "info" else log_level,
        access_log=False,
        loop="uvloop",
        http="httptools",
        workers=1,
        backlog=2048,
    )
