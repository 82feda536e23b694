"""The app ``safeguard serve`` runs: the HTTP API and the moderator console on one set of services."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI

from safeguard.api.app import create_api
from safeguard.api.logging import configure_logging
from safeguard.config import Settings, get_settings
from safeguard.policy.events import Detector
from safeguard.service.container import build_services
from safeguard.stream.status import RedisStreamProbe
from safeguard.web import routes as console


def create_app(
    settings: Settings | None = None,
    *,
    detector: Detector | None = None,
    database_url: str | None = None,
    allowed_hosts: Sequence[str] | None = None,
) -> FastAPI:
    """The Safeguard service: the REST API (OpenAPI at ``/openapi.json``, docs at ``/docs``)
    and the moderator console (``/console``), sharing one service container.

    With ``[stream] url`` set, the backlog gauges, ``/readyz`` and ``safeguard status``
    also read the stream deployment (:class:`~safeguard.stream.status.RedisStreamProbe`).

    Requests must name one of ``allowed_hosts`` (else ``settings.http.allowed_hosts``;
    `safeguard serve` always passes a list); with neither, the Host is not checked.
    """
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    services = build_services(settings, detector=detector, database_url=database_url)
    if settings.stream.url is not None:
        services.status.stream = RedisStreamProbe(settings.stream)
    app = create_api(services, allowed_hosts=allowed_hosts)
    app.include_router(console.router)
    console.mount_static(app)
    return app
