"""The console over HTTP: login, sessions, CSRF, roles, the queue, a case, decisions, reveal, export."""

from __future__ import annotations

import re

from sqlalchemy import select
from web_support import Harness, bank_benign_image, browser, csrf, login

from safeguard.evidence.models import EvidenceRecord
from safeguard.reports import cybertipline
from safeguard.store.db import session_scope


def _audit(url: str, action: str) -> list[tuple[str, str | None]]:
    with session_scope(url) as session:
        return list(
            session.execute(
                select(EvidenceRecord.actor, EvidenceRecord.case_id).where(EvidenceRecord.action == action)
            ).all()
        )


def test_wrong_password_and_missing_login_csrf(console: Harness) -> None:
    client = browser(console)
    page = client.get("/console/login")
    wrong = client.post(
        "/console/login",
        data={"username": "rev", "password": "nope-nope-nope", "csrf_token": csrf(page.text)},
    )
    assert wrong.status_code == 401 and "Wrong username or password" in wrong.text
    unknown = client.post(
        "/console/login", data={"username": "ghost", "password": "x" * 12, "csrf_token": csrf(wrong.text)}
    )
    assert unknown.status_code == 401
    no_token = browser(console).post("/console/login", data={"username": "rev", "password": "x"})
    assert no_token.status_code == 403
    # A known user's failure is audited; an unknown name writes nothing.
    assert [a for a, _ in _audit(console.url, "login_failed")] == ["console:rev"]


def test_session_cookie_is_protected(console: Harness) -> None:
    client = browser(console)
    page = client.get("/console/login")
    response = client.post(
        "/console/login",
        data={"username": "rev", "password": "reviewer-pass-1", "csrf_token": csrf(page.text)},
        follow_redirects=False,
    )
    cookie = response.headers["set-cookie"]
    assert (
        "sg_console=" in cookie
        and "HttpOnly" in cookie
        and "Secure" in cookie
        and "SameSite=strict" in cookie.replace("Strict", "strict")
    )
    queue = client.get("/console")
    assert "default-src 'self'" in queue.headers["content-security-policy"]
    assert queue.headers["x-frame-options"] == "DENY"


def test_queue_case_decision_and_export(console: Harness) -> None:
    case_id = console.grooming_case()
    client = login(console, "rev")
    queue = client.get("/console")
    assert queue.status_code == 200 and case_id[:12] in queue.text
    page = client.get(f"/console/cases/{case_id}")
    assert page.status_code == 200
    assert re.search(r'<mark class="excerpt cat-meeting"[^>]*>meet up after school</mark>', page.text)
    assert "cat-platform_move" in page.text
    assert "child-1" in page.text
    token = csrf(page.text)
    noted = client.post(
        f"/console/cases/{case_id}/notes", data={"text": "pattern is clear", "csrf_token": token}
    )
    assert noted.status_code == 200 and "pattern is clear" in noted.text
    asked = client.post(
        f"/console/cases/{case_id}/decision", data={"decision": "report_ncmec", "csrf_token": token}
    )
    assert "Confirm: report ncmec" in asked.text and "Decision recorded." not in asked.text
    decided = client.post(
        f"/console/cases/{case_id}/decision",
        data={"decision": "report_ncmec", "confirm": "yes", "note": "meeting", "csrf_token": token},
    )
    assert "Decision recorded." in decided.text
    assert re.search(r'<dd class="status">\w+: report_ncmec</dd>', decided.text)
    export = client.get(f"/console/cases/{case_id}/export/cybertipline")
    assert export.headers["content-disposition"].startswith("attachment")
    assert cybertipline.validate(export.text) == []
    assert ("console:rev", case_id) in _audit(console.url, "view_case")
    assert ("console:rev", case_id) in _audit(console.url, "export_report")


def test_post_without_csrf_is_refused(console: Harness) -> None:
    case_id = console.grooming_case()
    client = login(console, "rev")
    for path, data in (
        ("decision", {"decision": "ban"}),
        ("notes", {"text": "x"}),
        ("assign", {"assignee": "rev"}),
        ("reveal", {"item": "0"}),
    ):
        missing = client.post(f"/console/cases/{case_id}/{path}", data=data)
        assert missing.status_code == 403, path
        forged = client.post(f"/console/cases/{case_id}/{path}", data={**data, "csrf_token": "forged"})
        assert forged.status_code == 403, path
    page = client.get(f"/console/cases/{case_id}")
    assert "Decision recorded" not in page.text
    assert "<strong>decision</strong>" not in page.text


def test_reviewer_role_limits(console: Harness) -> None:
    case_id = console.grooming_case()
    rev = login(console, "rev")
    token = csrf(rev.get(f"/console/cases/{case_id}").text)
    to_other = rev.post(f"/console/cases/{case_id}/assign", data={"assignee": "rev2", "csrf_token": token})
    assert to_other.status_code == 403
    hold = rev.post(f"/console/cases/{case_id}/legal-hold", data={"legal_hold": "on", "csrf_token": token})
    assert hold.status_code == 403
    assert rev.get("/console/audit").status_code == 403
    taken = rev.post(f"/console/cases/{case_id}/assign", data={"assignee": "rev", "csrf_token": token})
    assert taken.status_code == 200
    rev2 = login(console, "rev2")
    assert case_id[:12] not in rev2.get("/console").text
    refused = rev2.get(f"/console/cases/{case_id}")
    assert refused.status_code == 403 and "meet up after school" not in refused.text
    assert rev2.get(f"/console/cases/{case_id}/export/cybertipline").status_code == 403
    token2 = csrf(rev2.get("/console").text)
    decide = rev2.post(
        f"/console/cases/{case_id}/decision", data={"decision": "dismiss", "csrf_token": token2}
    )
    assert decide.status_code == 403
    assert ("console:rev2", case_id) in _audit(console.url, "view_refused")


def test_admin_sees_everything(console: Harness) -> None:
    case_id = console.grooming_case()
    rev = login(console, "rev")
    token = csrf(rev.get(f"/console/cases/{case_id}").text)
    rev.post(f"/console/cases/{case_id}/assign", data={"assignee": "rev", "csrf_token": token})
    boss = login(console, "boss")
    page = boss.get(f"/console/cases/{case_id}")
    assert page.status_code == 200
    token = csrf(page.text)
    moved = boss.post(f"/console/cases/{case_id}/assign", data={"assignee": "rev2", "csrf_token": token})
    assert "Assignment changed" in moved.text
    held = boss.post(f"/console/cases/{case_id}/legal-hold", data={"legal_hold": "on", "csrf_token": token})
    assert "Legal hold placed" in held.text
    audit = boss.get("/console/audit")
    assert audit.status_code == 200 and "chain intact" in audit.text


def test_media_is_blurred_until_revealed_and_reveal_is_audited(console: Harness) -> None:
    sha = bank_benign_image(console.url)
    case_id = console.media("adult-2", ["child-2"], sha, mid="img-1")["case_id"]
    client = login(console, "rev")
    page = client.get(f"/console/cases/{case_id}")
    assert 'class="media-item concealed"' in page.text
    assert sha in page.text
    css = client.get("/console/static/console.css").text
    assert re.search(r"\.concealed img \{ filter: blur\(\d+px\) grayscale\(1\)", css)
    revealed = client.post(
        f"/console/cases/{case_id}/reveal", data={"item": "0", "revealed": "", "csrf_token": csrf(page.text)}
    )
    assert revealed.status_code == 200
    assert 'class="media-item revealed"' in revealed.text
    assert ("console:rev", case_id) in _audit(console.url, "reveal_media")


def test_logout_ends_the_session(console: Harness) -> None:
    client = login(console, "rev")
    token = csrf(client.get("/console").text)
    out = client.post("/console/logout", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303
    again = client.get("/console", follow_redirects=False)
    assert again.status_code == 303


def test_console_user_cli(console: Harness, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from safeguard.cli import app
    from safeguard.config import get_settings
    from safeguard.web.auth import authenticate

    monkeypatch.setenv("SAFEGUARD_DATABASE_URL", console.url)
    get_settings.cache_clear()
    result = CliRunner().invoke(
        app,
        ["console-user", "create", "newbie", "--role", "admin", "--password-stdin"],
        input="long-enough-pw\n",
    )
    assert result.exit_code == 0, result.output
    short = CliRunner().invoke(app, ["console-user", "create", "x", "--password-stdin"], input="short\n")
    assert short.exit_code != 0
    with session_scope(console.url) as session:
        user = authenticate(session, "newbie", "long-enough-pw")
        assert user is not None and user.role == "admin"
        assert user.password_hash.startswith("$argon2id$")


def test_repeated_failed_logins_are_throttled(console: Harness) -> None:
    client = browser(console)
    token = csrf(client.get("/console/login").text)
    for _ in range(5):
        page = client.post(
            "/console/login", data={"username": "rev", "password": "wrong-guess", "csrf_token": token}
        )
        assert page.status_code == 401
        token = csrf(page.text)
    right = client.post(
        "/console/login", data={"username": "rev", "password": "reviewer-pass-1", "csrf_token": token}
    )
    assert right.status_code == 429 and 1 <= int(right.headers["retry-after"]) <= 60
    assert login(console, "rev2").get("/console").status_code == 200


def test_sessions_expire(console: Harness) -> None:
    from datetime import timedelta

    from safeguard.core.clock import utcnow
    from safeguard.web import auth
    from safeguard.web.models import ConsoleUser

    with session_scope(console.url) as session:
        user = session.get(ConsoleUser, "rev")
        token = auth.start_session(session, user, hours=1)
    with session_scope(console.url) as session:
        assert auth.load_session(session, token).username == "rev"
        assert auth.load_session(session, token, now=utcnow() + timedelta(hours=2)) is None
        assert auth.load_session(session, "not-a-token") is None


def test_a_url_parameter_never_unblurs_and_only_the_audited_reveal_does(console: Harness) -> None:
    sha = bank_benign_image(console.url)
    case_id = console.media("adult-3", ["child-3"], sha, mid="img-3")["case_id"]
    client = login(console, "rev")
    for query in ("?revealed=1", "?revealed=1&item=0", "?revealed=true"):
        page = client.get(f"/console/cases/{case_id}{query}")
        assert 'class="media-item concealed"' in page.text and 'class="media-item revealed"' not in page.text
    assert ("console:rev", case_id) not in _audit(console.url, "reveal_media")
    shown = client.post(f"/console/cases/{case_id}/reveal", data={"item": "0", "csrf_token": csrf(page.text)})
    assert 'class="media-item revealed"' in shown.text
    assert _audit(console.url, "reveal_media").count(("console:rev", case_id)) == 1
    # No media URL configured: nothing is drawn from the hash, the page says why.
    assert "data:image/svg+xml" not in shown.text and "No media URL is configured" in shown.text


def test_media_url_template_shows_the_real_file(console: Harness, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from safeguard.web.settings import ConsoleSettings

    monkeypatch.setenv("SAFEGUARD_MEDIA_URL", "https://cdn.example/{sha256}?m={message_id}")
    console.client.app.state.console_settings = ConsoleSettings()
    sha = bank_benign_image(console.url)
    case_id = console.media("adult-4", ["child-4"], sha, mid="img-4")["case_id"]
    client = login(console, "rev")
    token = csrf(client.get(f"/console/cases/{case_id}").text)
    page = client.post(f"/console/cases/{case_id}/reveal", data={"item": "0", "csrf_token": token})
    assert f'<img src="https://cdn.example/{sha}?m=img-4"' in page.text
    assert "img-src 'self' data: https://cdn.example" in page.headers["content-security-policy"]
    assert ("console:rev", case_id) in _audit(console.url, "reveal_media")
