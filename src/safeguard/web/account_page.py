"""Console pages registered on the console router from here: the account page
(``/console/accounts/{id}``: one account's cases, the children it contacted, its risk
reasons and media matches) and re-opening a closed case."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from safeguard.cases.account_view import account_view
from safeguard.web import routes


def register(router: APIRouter) -> None:
    """Add the account page to ``router``."""
    router.add_api_route("/accounts/{account_id}", account_page, methods=["GET"])
    router.add_api_route("/cases/{case_id}/reopen", reopen, methods=["POST"])


async def reopen(request: Request, case_id: str) -> Response:
    """Re-open a closed case (a reason is required; audited)."""
    return await routes._case_action(request, case_id, "reopen")


def account_page(request: Request, account_id: str) -> Response:
    """An account as one picture (the view is audited)."""
    user = routes._identity(request)
    if user is None:
        return routes._login_redirect()
    services = routes._services(request)
    with services.write() as session:
        view = account_view(session, services.settings, account_id, actor=user.actor)
    return routes.render(request, "account.html", user=user, account=view)
