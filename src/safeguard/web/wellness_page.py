"""The reviewer's own settings page (``/console/settings``: media blur, greyscale, sound,
break reminder) and *Take a break*, registered on the console router from here.
Every change is audited (``wellness_settings_changed``, ``break_taken``)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from safeguard.errors import InputError
from safeguard.web import routes, wellness
from safeguard.web.auth import Identity


def register(router: APIRouter) -> None:
    """Add the settings page and the break action to ``router``."""
    router.add_api_route("/settings", settings_page, methods=["GET"])
    router.add_api_route("/settings", save_settings, methods=["POST"])
    router.add_api_route("/settings/break", take_break, methods=["POST"])


def _page(request: Request, user: Identity, *, status: int = 200, error: str | None = None) -> Response:
    return routes.render(
        request,
        "settings.html",
        status=status,
        user=user,
        blur_levels=wellness.BLUR_LEVELS,
        max_break=wellness.MAX_BREAK_MINUTES,
        error=error,
        message=routes.STATUS_MESSAGES.get(request.query_params.get("msg") or ""),
    )


def settings_page(request: Request) -> Response:
    """The form, filled in with the reviewer's current settings."""
    user = routes._identity(request)
    if user is None:
        return routes._login_redirect()
    return _page(request, user)


async def save_settings(request: Request) -> Response:
    """Save the reviewer's settings (CSRF-checked; the changes are audited)."""
    user, form, refusal = await routes._post(request)
    if refusal is not None:
        return refusal
    assert user is not None
    try:
        chosen = wellness.parse_form(form)
    except InputError as exc:
        return _page(request, user, status=400, error=exc.describe())
    services = routes._services(request)

    def run() -> dict:
        with services.write() as session:
            return wellness.save(session, user.username, chosen, actor=user.actor)

    changed = await run_in_threadpool(run)
    code = "settings_saved" if changed else "settings_unchanged"
    return RedirectResponse(f"/console/settings?msg={code}", status_code=303)


async def take_break(request: Request) -> Response:
    """End the current stretch of high-severity review (audited); back to the queue."""
    user, _form, refusal = await routes._post(request)
    if refusal is not None:
        return refusal
    assert user is not None
    services = routes._services(request)
    now = routes._now(request)

    def run() -> None:
        with services.write() as session:
            wellness.take_break(session, user.session_key, user, now)

    await run_in_threadpool(run)
    return RedirectResponse("/console/settings?msg=break_taken", status_code=303)
