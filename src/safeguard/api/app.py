"""The HTTP API application factory: routes by role, errors, the entry layer, its lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send
from swagger_ui_bundle import swagger_ui_path

from safeguard import __version__
from safeguard.api.fastpath import MessageFastPath
from safeguard.api.hosts import RelativeRedirects, trusted_hosts
from safeguard.api.middleware import ServiceMiddleware
from safeguard.api.routes import accounts, cases, connections, health, media, messages, reports
from safeguard.errors import ConflictError, InputError
from safeguard.service.container import Services


class SafeguardAPI(FastAPI):
    """FastAPI whose HTTP requests enter through ``entry`` (the service layer), which
    hands what it does not answer itself to ``framework`` (FastAPI's own stack)."""

    entry: ASGIApp | None = None

    async def framework(self, scope: Scope, receive: Receive, send: Send) -> None:
        """FastAPI's middleware, routing and handlers."""
        await super().__call__(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.entry is not None:
            scope["app"] = self
            await self.entry(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)


DOCS_ASSETS = "/docs-assets"


def _mount_docs(app: FastAPI) -> None:
    """Swagger UI at ``/docs`` served from the bundled assets, so it works offline."""
    app.mount(DOCS_ASSETS, StaticFiles(directory=str(swagger_ui_path)), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} - docs",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png",
        )


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body",)]
    return ".".join(parts) or "body"


def _error(error: dict[str, Any]) -> dict[str, str]:
    """One validation error as ``{field, message}``; a body that is not JSON names the
    body, with the byte offset in the message (FastAPI puts the offset in ``loc``)."""
    loc = tuple(error.get("loc", ()))
    if error.get("type") == "json_invalid":
        position = f" at byte {loc[1]}" if len(loc) > 1 else ""
        reason = (error.get("ctx") or {}).get("error", "")
        return {"field": "body", "message": f"not valid JSON{position}" + (f" ({reason})" if reason else "")}
    return {"field": _field(loc), "message": error.get("msg", "invalid")}


def create_api(services: Services, *, allowed_hosts: Sequence[str] | None = None) -> SafeguardAPI:
    """The Safeguard HTTP API on ``services`` (OpenAPI at ``/openapi.json``, docs at ``/docs``).

    Requests must name one of ``allowed_hosts`` (else ``settings.http.allowed_hosts``;
    `safeguard serve` always passes a list); with neither, the Host is not checked.
    Routers included afterwards (the console, by :func:`safeguard.server.create_app`) are
    served behind the same entry layer.
    """
    settings = services.settings

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        services.warmup.start()
        services.webhooks.start()
        services.maintenance.start()
        await services.engine.start_on_loop()
        try:
            yield
        finally:
            services.maintenance.stop()
            services.webhooks.close()
            await services.engine.stop_on_loop()
            services.engine.close()

    app = SafeguardAPI(
        title="Safeguard safety service",
        version=__version__,
        description="Child-safety decisions for messages, connection requests, suggestions "
        "and media (Ofcom ICU F1/F2 defaults), with account-level risk.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.services = services
    _mount_docs(app)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [_error(e) for e in exc.errors()]
        first = errors[0] if errors else {"field": "body", "message": "invalid request"}
        return JSONResponse(
            {
                "detail": f"field '{first['field']}': {first['message']}",
                "field": first["field"],
                "errors": errors,
            },
            status_code=422,
        )

    @app.exception_handler(InputError)
    async def input_error(_request: Request, exc: InputError) -> JSONResponse:
        status = 409 if isinstance(exc, ConflictError) else 400
        return JSONResponse({"detail": exc.describe(), "field": exc.field}, status_code=status)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    for module in (health, accounts, connections, messages, media, cases, reports):
        app.include_router(module.router)
    app.add_middleware(RelativeRedirects)
    # The service's own layer sits outside the framework's middleware: size limits,
    # metrics and logs for every request, and the message hot path in front.
    app.entry = ServiceMiddleware(
        trusted_hosts(
            MessageFastPath(app.framework, services=services),
            allowed_hosts if allowed_hosts is not None else settings.http.allowed_hosts,
        ),
        metrics=services.metrics,
        max_body_bytes=settings.api.max_body_bytes,
        max_header_bytes=settings.http.max_header_bytes,
        large_body_paths={"/v1/media": settings.api.max_media_bytes},
    )
    return app
