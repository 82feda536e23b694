"""`safeguard console-user list|disable|enable|set-role` on the configured database (both backends)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from safeguard.cli.app import app
from safeguard.config import get_settings
from safeguard.evidence.models import EvidenceRecord
from safeguard.store.db import session_scope
from safeguard.web import auth
from safeguard.web.models import ConsoleUser


@pytest.fixture
def users(isolated_settings: None, db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SAFEGUARD_DATABASE_URL", db_url)
    get_settings.cache_clear()
    with session_scope(db_url) as session:
        auth.create_user(session, "ada", "admin-password-1", "admin")
        auth.create_user(session, "rev", "reviewer-password-1", "reviewer")
        auth.start_session(session, session.get(ConsoleUser, "rev"), hours=1)
    return db_url


def _cli(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["console-user", *args])


def _actions(url: str) -> list[tuple[str, str, dict]]:
    with session_scope(url) as session:
        rows = session.execute(
            select(EvidenceRecord.action, EvidenceRecord.actor, EvidenceRecord.payload)
            .where(EvidenceRecord.action.like("console_user_%"))
            .order_by(EvidenceRecord.seq)
        ).all()
    return [(action, actor, json.loads(payload)) for action, actor, payload in rows]


def test_list_json_and_table(users: str) -> None:
    listed = _cli("list", "--json")
    assert listed.exit_code == 0, listed.output
    rows = [json.loads(line) for line in listed.output.splitlines()]
    assert [(r["username"], r["role"], r["enabled"], r["sessions"]) for r in rows] == [
        ("ada", "admin", True, 0),
        ("rev", "reviewer", True, 1),
    ]
    table = _cli("list")
    assert table.exit_code == 0 and "rev" in table.output and "1 sessions" in table.output


def test_disable_enable_and_set_role_are_audited(users: str) -> None:
    disabled = _cli("disable", "rev")
    assert disabled.exit_code == 0, disabled.output
    assert "disabled (sessions ended)" in disabled.output
    with session_scope(users) as session:
        assert auth.authenticate(session, "rev", "reviewer-password-1") is None
        assert auth.password_hash_of(session, "rev") is None
    listed = [json.loads(line) for line in _cli("list", "--json").output.splitlines()]
    assert [(r["username"], r["enabled"], r["sessions"]) for r in listed][1] == ("rev", False, 0)
    assert "no change" in _cli("disable", "rev").output

    assert _cli("enable", "rev").exit_code == 0
    assert _cli("set-role", "rev", "admin").exit_code == 0
    with session_scope(users) as session:
        user = auth.authenticate(session, "rev", "reviewer-password-1")
        assert user is not None and user.role == "admin"
    actions = _actions(users)
    assert [a for a, _, _ in actions] == [
        "console_user_disabled",
        "console_user_enabled",
        "console_user_role_changed",
    ]
    assert all(actor.startswith("cli:") for _, actor, _ in actions)
    assert actions[0][2] == {"username": "rev", "sessions_ended": 1}
    assert actions[2][2] == {"username": "rev", "from": "reviewer", "to": "admin"}


def test_refusals_exit_2(users: str) -> None:
    for args in (("disable", "ada"), ("set-role", "ada", "reviewer")):
        refused = _cli(*args)
        assert refused.exit_code == 2 and "last enabled admin" in refused.output, refused.output
    unknown = _cli("disable", "ghost")
    assert unknown.exit_code == 2 and "no console user 'ghost'" in unknown.output
    bad_role = _cli("set-role", "rev", "owner")
    assert bad_role.exit_code == 2 and "reviewer, admin" in bad_role.output
    # Resetting the last admin's password as a reviewer is refused too.
    demote = CliRunner().invoke(
        app,
        ["console-user", "create", "ada", "--role", "reviewer", "--password-stdin"],
        input="another-pass-1\n",
    )
    assert demote.exit_code != 0
    with session_scope(users) as session:
        ada = session.get(ConsoleUser, "ada")
        assert ada.role == "admin" and ada.disabled_at is None
    assert _actions(users) == []


def test_create_is_audited_and_keeps_a_disabled_user_disabled(users: str) -> None:
    assert _cli("disable", "rev").exit_code == 0
    reset = CliRunner().invoke(
        app, ["console-user", "create", "rev", "--password-stdin"], input="new-password-22\n"
    )
    assert reset.exit_code == 0 and "disabled" in reset.output, reset.output
    with session_scope(users) as session:
        assert auth.authenticate(session, "rev", "new-password-22") is None
    created = CliRunner().invoke(
        app, ["console-user", "create", "newbie", "--password-stdin"], input="newbie-password\n"
    )
    assert created.exit_code == 0
    assert [a for a, _, _ in _actions(users)] == [
        "console_user_disabled",
        "console_user_password_reset",
        "console_user_created",
    ]
