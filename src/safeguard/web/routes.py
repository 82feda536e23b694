"""Console pages: login, the queue, a case, decisions, notes, reveal, report export.

Reviewers see unassigned cases and their own; admins see everything and may
reassign, place legal holds, read the audit log and manage console users
(``admin_pages``); every reviewer has wellness settings (``wellness_page``). Every POST needs the
session's CSRF token; every view of evidence and every action is audited.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader, select_autoescape
from limits.errors import StorageError
from starlette.background import BackgroundTask

from safeguard.cases import service as cases
from safeguard.cases.take_next import take_next as claim_next
from safeguard.core.clock import utcnow
from safeguard.errors import InputError
from safeguard.reports import context, cybertipline, nca
from safeguard.service.container import Services
from safeguard.text.categories import CATEGORIES
from safeguard.web import auth, decisions, queue_view, wellness
from safeguard.web.login import ConsoleLogin
from safeguard.web.media import media_src, revealed_items
from safeguard.web.settings import ConsoleSettings

SESSION_COOKIE = "sg_console"
LOGIN_CSRF_COOKIE = "sg_login_csrf"
STATIC_DIR = Path(__file__).parent / "static"
# What a case page's status box may say: ``?msg=CODE`` picks one; unknown codes show nothing.
STATUS_MESSAGES = {
    "decision_recorded": "Decision recorded.",
    "note_added": "Note added.",
    "assignment_changed": "Assignment changed.",
    "legal_hold_placed": "Legal hold placed.",
    "legal_hold_lifted": "Legal hold lifted.",
    "media_revealed": "Media item revealed (recorded in the audit log).",
    "case_reopened": "Case re-opened.",
    "settings_saved": "Settings saved.",
    "settings_unchanged": "Nothing changed.",
    "user_disabled": "User disabled; their sessions have ended.",
    "user_enabled": "User enabled.",
    "role_changed": "Role changed.",
    "no_change": "Nothing changed.",
    "break_taken": "Break recorded: the high-severity review timer has restarted.",
}

router = APIRouter(prefix="/console", include_in_schema=False)
templates = Environment(
    loader=PackageLoader("safeguard.web", "templates"), autoescape=select_autoescape(["html"])
)


def mount_static(app: Any) -> None:
    """Serve the console's CSS from inside the package."""
    app.mount("/console/static", StaticFiles(directory=STATIC_DIR), name="console-static")


def _services(request: Request) -> Services:
    return request.app.state.services


def _console_settings(request: Request) -> ConsoleSettings:
    settings = getattr(request.app.state, "console_settings", None)
    if settings is None:
        settings = ConsoleSettings()
        request.app.state.console_settings = settings
    return settings


def _console_login(request: Request) -> ConsoleLogin:
    login = getattr(request.app.state, "console_login", None)
    if login is None:
        login = ConsoleLogin(_services(request), _console_settings(request))
        request.app.state.console_login = login
    return login


def _set_cookie(
    request: Request, response: Response, name: str, value: str, max_age: int | None = None
) -> None:
    """A console cookie: HttpOnly, SameSite=Strict, path /console, Secure unless configured off."""
    response.set_cookie(
        name,
        value,
        httponly=True,
        samesite="strict",
        path="/console",
        secure=_console_settings(request).secure_cookies,
        max_age=max_age,
    )


def _delete_cookie(request: Request, response: Response, name: str) -> None:
    response.delete_cookie(
        name,
        path="/console",
        secure=_console_settings(request).secure_cookies,
        httponly=True,
        samesite="strict",
    )


def _headers(settings: ConsoleSettings) -> dict[str, str]:
    img = "'self' data:"
    if settings.media_url:
        parts = urlsplit(settings.media_url)
        img += f" {parts.scheme}://{parts.netloc}"
    return {
        "Content-Security-Policy": f"default-src 'self'; img-src {img}; style-src 'self'; "
        "script-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }


def _now(request: Request) -> datetime:
    """The console's clock (``app.state.console_clock`` when set, for tests)."""
    clock = getattr(request.app.state, "console_clock", None)
    return clock() if clock is not None else utcnow()


def render(request: Request, name: str, status: int = 200, **values: Any) -> HTMLResponse:
    """Render a template with the security headers every console page carries (and the
    break reminder once the reviewer's high-severity stretch has lasted long enough)."""
    user = values.get("user")
    if isinstance(user, auth.Identity):
        values.setdefault(
            "break_due",
            wellness.reminder_minutes(user.wellness, user.severe_since, user.severe_last, _now(request)),
        )
    body = templates.get_template(name).render(request=request, **values)
    return HTMLResponse(body, status_code=status, headers=_headers(_console_settings(request)))


def _identity(request: Request) -> auth.Identity | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    with _services(request).read() as session:
        return auth.load_session(session, token, now=_now(request))


def _login_redirect() -> RedirectResponse:
    return RedirectResponse("/console/login", status_code=303)


def _forbidden(request: Request, user: auth.Identity | None, message: str) -> HTMLResponse:
    return render(request, "error.html", status=403, user=user, message=message)


async def _post(request: Request) -> tuple[auth.Identity | None, dict[str, str], Response | None]:
    """The identity and form of a POST, or the refusal to send (no session, bad CSRF)."""
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    user = await run_in_threadpool(_identity, request)
    if user is None:
        return None, form, _forbidden(request, None, "Your session has ended: log in again.")
    if not auth.csrf_ok(user.csrf_token, form.get("csrf_token")):
        return user, form, _forbidden(request, user, "The form's security token is missing or wrong.")
    return user, form, None


def _may_see(user: auth.Identity, case: Any) -> bool:
    return user.is_admin or case.assignee in (None, user.username)


@router.get("/login")
def login_page(request: Request) -> HTMLResponse:
    """The login form (its CSRF token is bound to a cookie)."""
    return _login_form(request, status=200, error=None)


def _login_form(request: Request, *, status: int, error: str | None) -> HTMLResponse:
    token = secrets.token_urlsafe(32)
    response = render(request, "login.html", status=status, user=None, csrf_token=token, error=error)
    _set_cookie(request, response, LOGIN_CSRF_COOKIE, token)
    return response


@router.post("/login")
async def login(request: Request) -> Response:
    """Throttle, check the password (argon2, outside any transaction) and open a session."""
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    if not auth.csrf_ok(request.cookies.get(LOGIN_CSRF_COOKIE), form.get("csrf_token")):
        return _forbidden(request, None, "The form's security token is missing or wrong: reload the page.")
    console_login = _console_login(request)
    address = request.client.host if request.client else "unknown"
    username = form.get("username", "")
    try:
        outcome = await console_login.attempt(address, username, form.get("password", ""))
    except StorageError:
        response = render(
            request, "error.html", status=503, user=None, message="Logins are unavailable: try again shortly."
        )
        response.headers["Retry-After"] = "5"
        return response
    if outcome.refusal is not None:
        wait = outcome.refusal.retry_after
        response = render(
            request,
            "error.html",
            status=429,
            user=None,
            message=f"Too many login attempts: wait {wait} seconds, then reload the login page.",
        )
        response.headers["Retry-After"] = str(wait)
        return response
    if outcome.token is None:
        response = _login_form(request, status=401, error="Wrong username or password.")
        if outcome.known_user:
            response.background = BackgroundTask(console_login.audit_failure, username, address)
        return response
    response = RedirectResponse("/console", status_code=303)
    hours = console_login.settings.session_hours
    _set_cookie(request, response, SESSION_COOKIE, outcome.token, max_age=int(hours * 3600))
    _delete_cookie(request, response, LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    """Close the session."""
    user, _form, refusal = await _post(request)
    if refusal is not None and user is not None:
        return refusal
    with _services(request).write() as session:
        auth.end_session(session, request.cookies.get(SESSION_COOKIE))
    response = _login_redirect()
    _delete_cookie(request, response, SESSION_COOKIE)
    return response


@router.get("")
def queue_page(request: Request) -> Response:
    """The queue (by case or by account), in the chosen order, with filters and paging."""
    user = _identity(request)
    if user is None:
        return _login_redirect()
    asked = queue_view.parse(request.query_params)
    services = _services(request)
    now = datetime.now(UTC)
    visible_to = None if user.is_admin else user.username
    with services.read() as session:
        if asked.view == "accounts":
            groups, total = cases.account_groups(
                session, services.settings, asked.filters, visible_to=visible_to, now=now
            )
            rows, accounts = [], queue_view.account_rows(groups, now)
        else:
            items, total = cases.queue(
                session, services.settings, asked.filters, visible_to=visible_to, now=now
            )
            rows, accounts = queue_view.case_rows(items, now), []
    return render(
        request,
        "queue.html",
        user=user,
        rows=rows,
        accounts=accounts,
        total=total,
        params=asked.params,
        paging=queue_view.page_links(asked.params, asked.filters, total),
        sorts=cases.SORTS,
        sla_classes=queue_view.SLA_CHOICES,
        kinds=cases.KINDS,
        surfaces=cases.SURFACES,
        sources=cases.SOURCES,
        categories=(*CATEGORIES, "media_match", "account_risk"),
    )


@router.post("/take-next")
async def take_next(request: Request) -> Response:
    """Hand the reviewer the top case nobody else holds (assigned and leased)."""
    user, _form, refusal = await _post(request)
    if refusal is not None:
        return refusal
    assert user is not None
    services = _services(request)

    def run() -> str | None:
        with services.write() as session:
            return claim_next(session, services.settings, reviewer=user.username, actor=user.actor)

    case_id = await run_in_threadpool(run)
    if case_id is None:
        return render(request, "error.html", status=200, user=user, message="No open case is free to take.")
    return RedirectResponse(f"/console/cases/{case_id}", status_code=303)


@router.get("/cases/{case_id}")
def case_page(request: Request, case_id: str) -> Response:
    """A case: conversation with highlighted excerpts, media (blurred as the reviewer chose),
    contacts, timeline, actions; a high-severity case extends the reviewer's review stretch."""
    user = _identity(request)
    if user is None:
        return _login_redirect()
    services = _services(request)
    with services.write() as session:
        try:
            case = cases.get_case(session, services.settings, case_id)
        except cases.CaseNotFound:
            return render(request, "error.html", status=404, user=user, message="No such case.")
        if not _may_see(user, case):
            cases.audit(session, user.actor, "view_refused", case.id, {"assignee": case.assignee})
            return _forbidden(request, user, "This case is assigned to another reviewer.")
        view = cases.view_case(session, services.settings, case.id, actor=user.actor)
        if wellness.high_severity(view["case"], len(view["media"])):
            user = wellness.record_severe_view(session, user.session_key, user, _now(request))
    revealed = revealed_items(view["timeline"], user.actor, since=user.session_started)
    settings = _console_settings(request)
    for item in view["media"]:
        item["src"] = media_src(item, settings)
        item["revealed"] = item["index"] in revealed
    return render(
        request,
        "case.html",
        user=user,
        view=view,
        case=view["case"],
        decisions=cases.APPEAL_DECISIONS if view["case"]["kind"] == "appeal" else cases.DECISIONS,
        message=STATUS_MESSAGES.get(request.query_params.get("msg") or ""),
    )


def _back(case_id: str, code: str, anchor: str = "") -> RedirectResponse:
    """Back to the case page with a fixed status message (see STATUS_MESSAGES)."""
    return RedirectResponse(f"/console/cases/{case_id}?msg={code}{anchor}", status_code=303)


async def _case_action(request: Request, case_id: str, action: str) -> Response:
    user, form, refusal = await _post(request)
    if refusal is not None:
        return refusal
    assert user is not None
    services = _services(request)

    def run() -> Response:
        with services.write() as session:
            try:
                case = cases.get_case(session, services.settings, case_id)
            except cases.CaseNotFound:
                return render(request, "error.html", status=404, user=user, message="No such case.")
            if not _may_see(user, case):
                cases.audit(session, user.actor, "action_refused", case.id, {"action": action})
                return _forbidden(request, user, "This case is assigned to another reviewer.")
            if action == "decision" and decisions.needs_confirmation(form):
                return render(
                    request,
                    "confirm.html",
                    user=user,
                    case=cases.case_dict(case),
                    decision=form["decision"],
                    note=form.get("note") or "",
                    missing_note=form.get("confirm") == "yes",
                )
            if action == "decision":
                cases.decide(
                    session,
                    services.settings,
                    case.id,
                    decision=form.get("decision", ""),
                    actor=user.actor,
                    note=form.get("note") or None,
                )
                return _back(case.id, "decision_recorded")
            if action == "reopen":
                cases.reopen_case(session, case, actor=user.actor, reason=form.get("reason", ""))
                return _back(case.id, "case_reopened")
            if action == "note":
                cases.add_note(
                    session, services.settings, case.id, actor=user.actor, text=form.get("text", "")
                )
                return _back(case.id, "note_added")
            if action == "assign":
                target = (form.get("assignee") or "").strip() or None
                if not user.is_admin and target not in (None, user.username):
                    cases.audit(
                        session, user.actor, "action_refused", case.id, {"action": "assign", "to": target}
                    )
                    return _forbidden(request, user, "Only an admin can assign a case to someone else.")
                cases.assign(session, services.settings, case.id, assignee=target, actor=user.actor)
                return _back(case.id, "assignment_changed")
            if action == "legal_hold":
                if not user.is_admin:
                    cases.audit(session, user.actor, "action_refused", case.id, {"action": "legal_hold"})
                    return _forbidden(request, user, "Only an admin can place or lift a legal hold.")
                hold = form.get("legal_hold") == "on"
                cases.set_legal_hold(session, services.settings, case.id, hold=hold, actor=user.actor)
                return _back(case.id, "legal_hold_placed" if hold else "legal_hold_lifted")
            if action == "reveal":
                item = int(form.get("item", "-1")) if form.get("item", "").isdigit() else -1
                if item < 0:
                    return render(request, "error.html", status=400, user=user, message="Which item?")
                cases.record_reveal(session, services.settings, case.id, item=item, actor=user.actor)
                return _back(case.id, "media_revealed", f"#media-{item}")
            return render(request, "error.html", status=404, user=user, message="Unknown action.")

    try:
        return await run_in_threadpool(run)
    except InputError as exc:
        return render(request, "error.html", status=400, user=user, message=exc.describe())


@router.post("/cases/{case_id}/decision")
async def decision(request: Request, case_id: str) -> Response:
    """Record a decision."""
    return await _case_action(request, case_id, "decision")


@router.post("/cases/{case_id}/notes")
async def note(request: Request, case_id: str) -> Response:
    """Add a note."""
    return await _case_action(request, case_id, "note")


@router.post("/cases/{case_id}/assign")
async def assign(request: Request, case_id: str) -> Response:
    """Take, release or (admin) reassign the case."""
    return await _case_action(request, case_id, "assign")


@router.post("/cases/{case_id}/legal-hold")
async def legal_hold(request: Request, case_id: str) -> Response:
    """Place or lift a legal hold (admin)."""
    return await _case_action(request, case_id, "legal_hold")


@router.post("/cases/{case_id}/reveal")
async def reveal(request: Request, case_id: str) -> Response:
    """Reveal one media item (audited)."""
    return await _case_action(request, case_id, "reveal")


@router.get("/cases/{case_id}/export/{report}")
def export(request: Request, case_id: str, report: str) -> Response:
    """Download the CyberTipline XML or the NCA JSON for the case (audited)."""
    user = _identity(request)
    if user is None:
        return _login_redirect()
    if report not in ("cybertipline", "nca"):
        return render(request, "error.html", status=404, user=user, message="Unknown report.")
    services = _services(request)
    with services.write() as session:
        try:
            case = cases.get_case(session, services.settings, case_id)
        except cases.CaseNotFound:
            return render(request, "error.html", status=404, user=user, message="No such case.")
        if not _may_see(user, case):
            return _forbidden(request, user, "This case is assigned to another reviewer.")
        try:
            ctx = context.load(session, services.settings, case.id, actor=user.actor, report=report)
        except InputError as exc:
            return render(request, "error.html", status=400, user=user, message=exc.describe())
        if report == "cybertipline":
            body, media, ext = cybertipline.to_xml(ctx), "application/xml", "xml"
        else:
            body, media, ext = json.dumps(nca.build(ctx), indent=2), "application/json", "json"
    return Response(
        body,
        media_type=media,
        headers={
            "Content-Disposition": f'attachment; filename="{report}-{case.id}.{ext}"',
            "Cache-Control": "no-store",
        },
    )


from safeguard.web import account_page, admin_pages, status_page, wellness_page  # noqa: E402  (on this router)

account_page.register(router)
admin_pages.register(router)
status_page.register(router)
wellness_page.register(router)
