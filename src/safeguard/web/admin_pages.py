"""Admin console pages registered on the console router from here: the audit log with the
chain check (``/console/audit``) and console-user administration (``/console/admin/users``:
list, disable, enable, change role). A reviewer asking for either is refused (403) and
the refusal is audited."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from safeguard.cases import service as cases
from safeguard.errors import InputError
from safeguard.evidence.audit import audit_configured
from safeguard.evidence.models import EvidenceRecord
from safeguard.web import routes, users
from safeguard.web.auth import ROLES, Identity


def register(router: APIRouter) -> None:
    """Add the admin pages to ``router``."""
    router.add_api_route("/audit", audit_page, methods=["GET"])
    router.add_api_route("/admin/users", users_page, methods=["GET"])
    router.add_api_route("/admin/users/{username}/disable", disable, methods=["POST"])
    router.add_api_route("/admin/users/{username}/enable", enable, methods=["POST"])
    router.add_api_route("/admin/users/{username}/role", set_role, methods=["POST"])


def _refuse(request: Request, user: Identity, action: str, what: dict, message: str) -> Response:
    with routes._services(request).write() as session:
        cases.audit(session, user.actor, action, None, what)
    return routes._forbidden(request, user, message)


def audit_page(request: Request) -> Response:
    """The audit log and the chain check (admin only)."""
    user = routes._identity(request)
    if user is None:
        return routes._login_redirect()
    services = routes._services(request)
    if not user.is_admin:
        return _refuse(request, user, "view_refused", {"page": "audit"}, "The audit log is for admins.")
    with services.read() as session:
        report = audit_configured(session, services.settings)
    with services.write() as session:
        cases.audit(session, user.actor, "view_audit_log", None, {})
        records = list(
            session.execute(select(EvidenceRecord).order_by(EvidenceRecord.seq.desc()).limit(200)).scalars()
        )
        rows = [
            {
                "seq": r.seq,
                "at": r.at,
                "actor": r.actor,
                "action": r.action,
                "case_id": r.case_id,
                "kind": r.kind,
            }
            for r in records
        ]
    return routes.render(request, "audit.html", user=user, report=report, rows=rows, now=datetime.now(UTC))


def users_page(request: Request) -> Response:
    """Every console user with their role, state and live sessions (admin only)."""
    user = routes._identity(request)
    if user is None:
        return routes._login_redirect()
    if not user.is_admin:
        return _refuse(request, user, "view_refused", {"page": "users"}, "User administration is for admins.")
    with routes._services(request).read() as session:
        listed = users.list_users(session, now=routes._now(request))
    return routes.render(
        request,
        "users.html",
        user=user,
        users=listed,
        roles=ROLES,
        message=routes.STATUS_MESSAGES.get(request.query_params.get("msg") or ""),
    )


async def _user_action(request: Request, username: str, action: str) -> Response:
    user, form, refusal = await routes._post(request)
    if refusal is not None:
        return refusal
    assert user is not None
    if not user.is_admin:
        what = {"page": "users", "action": action, "username": username}
        return await run_in_threadpool(
            _refuse, request, user, "action_refused", what, "User administration is for admins."
        )
    services = routes._services(request)

    def run() -> str:
        with services.write() as session:
            if action == "role":
                changed = users.set_role(session, username, form.get("role", ""), actor=user.actor)
                return "role_changed" if changed else "no_change"
            changed = users.set_disabled(session, username, action == "disable", actor=user.actor)
            return f"user_{action}d" if changed else "no_change"

    try:
        code = await run_in_threadpool(run)
    except users.LastAdminError as exc:
        return routes.render(request, "error.html", status=409, user=user, message=exc.describe())
    except InputError as exc:
        return routes.render(request, "error.html", status=400, user=user, message=exc.describe())
    return RedirectResponse(f"/console/admin/users?msg={code}", status_code=303)


async def disable(request: Request, username: str) -> Response:
    """Disable a user and end their sessions (admin; never the last enabled admin)."""
    return await _user_action(request, username, "disable")


async def enable(request: Request, username: str) -> Response:
    """Enable a disabled user (admin)."""
    return await _user_action(request, username, "enable")


async def set_role(request: Request, username: str) -> Response:
    """Change a user's role (admin; never demoting the last enabled admin)."""
    return await _user_action(request, username, "role")
