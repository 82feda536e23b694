"""Console-user administration on /console/admin/users: list, disable, enable, change role;
admin only; the last enabled admin is kept; a disabled user's sessions stop working."""

from __future__ import annotations

import json

from sqlalchemy import func, select
from web_support import PASSWORDS, Harness, browser, csrf, login

from safeguard.evidence.models import EvidenceRecord
from safeguard.store.db import session_scope
from safeguard.web import auth
from safeguard.web.models import ConsoleSession, ConsoleUser


def _records(url: str, action: str) -> list[tuple[str, dict]]:
    with session_scope(url) as session:
        rows = session.execute(
            select(EvidenceRecord.actor, EvidenceRecord.payload).where(EvidenceRecord.action == action)
        ).all()
    return [(actor, json.loads(payload or "{}")) for actor, payload in rows]


def _act(client, username: str, action: str, **fields: str):  # type: ignore[no-untyped-def]
    token = csrf(client.get("/console/admin/users").text)
    return client.post(
        f"/console/admin/users/{username}/{action}",
        data={"csrf_token": token, **fields},
        follow_redirects=False,
    )


def _try_login(console: Harness, username: str) -> int:
    client = browser(console)
    token = csrf(client.get("/console/login").text)
    response = client.post(
        "/console/login",
        data={"username": username, "password": PASSWORDS[username], "csrf_token": token},
        follow_redirects=False,
    )
    return response.status_code


def test_admin_lists_users(console: Harness) -> None:
    login(console, "rev")
    page = login(console, "boss").get("/console/admin/users")
    assert page.status_code == 200
    for name in ("boss", "rev", "rev2"):
        assert f'id="user-{name}"' in page.text
    assert '<td class="role">admin</td>' in page.text and "boss (you)" in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'self'")


def test_reviewer_gets_403_and_the_refusal_is_audited(console: Harness) -> None:
    client = login(console, "rev")
    assert client.get("/console/admin/users").status_code == 403
    token = csrf(client.get("/console").text)
    refused = client.post("/console/admin/users/rev2/disable", data={"csrf_token": token})
    assert refused.status_code == 403
    promote = client.post("/console/admin/users/rev/role", data={"csrf_token": token, "role": "admin"})
    assert promote.status_code == 403
    with session_scope(console.url) as session:
        assert session.get(ConsoleUser, "rev2").disabled_at is None
        assert session.get(ConsoleUser, "rev").role == "reviewer"
    assert ("console:rev", {"page": "users"}) in _records(console.url, "view_refused")
    refusals = [what["action"] for _, what in _records(console.url, "action_refused")]
    assert refusals == ["disable", "role"]
    assert "/console/admin/users" not in client.get("/console").text  # no link for reviewers


def test_disable_ends_sessions_and_blocks_login_then_enable(console: Harness) -> None:
    reviewer = login(console, "rev")
    assert reviewer.get("/console").status_code == 200
    admin = login(console, "boss")

    done = _act(admin, "rev", "disable")
    assert done.status_code == 303 and done.headers["location"] == "/console/admin/users?msg=user_disabled"
    # The open session stops working at once: the next page goes back to the login form.
    assert reviewer.get("/console", follow_redirects=False).headers["location"] == "/console/login"
    assert _try_login(console, "rev") == 401
    with session_scope(console.url) as session:
        count = session.execute(
            select(func.count()).select_from(ConsoleSession).where(ConsoleSession.username == "rev")
        ).scalar_one()
        assert count == 0
        # Even a session row that survived would be refused while the user is disabled.
        token = auth.start_session(session, session.get(ConsoleUser, "rev"), hours=1)
    with session_scope(console.url) as session:
        assert auth.load_session(session, token) is None
        assert auth.authenticate(session, "rev", PASSWORDS["rev"]) is None
    page = admin.get("/console/admin/users").text
    assert 'class="disabled" id="user-rev"' in page

    assert _act(admin, "rev", "disable").headers["location"].endswith("msg=no_change")
    assert _act(admin, "rev", "enable").headers["location"].endswith("msg=user_enabled")
    assert _try_login(console, "rev") == 303
    assert _records(console.url, "console_user_disabled") == [
        ("console:boss", {"username": "rev", "sessions_ended": 1})
    ]
    assert _records(console.url, "console_user_enabled") == [("console:boss", {"username": "rev"})]


def test_role_change_takes_effect_and_is_audited(console: Harness) -> None:
    reviewer = login(console, "rev")
    assert reviewer.get("/console/audit").status_code == 403
    admin = login(console, "boss")
    assert _act(admin, "rev", "role", role="admin").headers["location"].endswith("msg=role_changed")
    assert reviewer.get("/console/audit").status_code == 200  # the same session, now an admin
    assert _act(admin, "rev", "role", role="reviewer").status_code == 303
    assert reviewer.get("/console/audit").status_code == 403
    bad = _act(admin, "rev", "role", role="owner")
    assert bad.status_code == 400
    assert _act(admin, "nobody", "disable").status_code == 400
    assert _records(console.url, "console_user_role_changed") == [
        ("console:boss", {"username": "rev", "from": "reviewer", "to": "admin"}),
        ("console:boss", {"username": "rev", "from": "admin", "to": "reviewer"}),
    ]


def test_the_last_admin_cannot_be_disabled_or_demoted(console: Harness) -> None:
    admin = login(console, "boss")
    for action, fields in (("disable", {}), ("role", {"role": "reviewer"})):
        refused = _act(admin, "boss", action, **fields)
        assert refused.status_code == 409
        assert "last enabled admin" in refused.text
    with session_scope(console.url) as session:
        boss = session.get(ConsoleUser, "boss")
        assert boss.role == "admin" and boss.disabled_at is None
    # With a second admin, the first may step down.
    assert _act(admin, "rev2", "role", role="admin").status_code == 303
    assert _act(admin, "boss", "role", role="reviewer").status_code == 303
    assert admin.get("/console/admin/users").status_code == 403
    second = login(console, "rev2")
    assert _act(second, "rev2", "disable").status_code == 409


def test_user_actions_need_the_csrf_token(console: Harness) -> None:
    admin = login(console, "boss")
    refused = admin.post("/console/admin/users/rev/disable", data={"csrf_token": "wrong"})
    assert refused.status_code == 403
    with session_scope(console.url) as session:
        assert session.get(ConsoleUser, "rev").disabled_at is None
