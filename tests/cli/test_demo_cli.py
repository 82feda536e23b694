"""`safeguard demo --no-serve`: the demo reviewer and the bundled conversations' open cases,
through the service's message path, idempotently; the printed login opens a queue with them."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from safeguard.cases.models import CaseRow
from safeguard.cli.app import app
from safeguard.config import Settings, get_settings
from safeguard.policy.models import MessageDecisionRow
from safeguard.store.db import dispose_engines, session_scope
from safeguard.web.models import ConsoleUser

GROOMING = {"demo-01", "demo-02", "demo-03", "demo-04", "demo-05"}  # the bundled set's grooming label


@pytest.fixture
def demo_db(isolated_settings: None, db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SAFEGUARD_DATABASE_URL", db_url)
    monkeypatch.setenv("SAFEGUARD_CONSOLE_SECURE_COOKIES", "false")  # as the demo sets it
    get_settings.cache_clear()
    return db_url


def _run() -> tuple[str, str]:
    result = CliRunner().invoke(app, ["demo", "--no-serve", "--fast"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    match = re.search(r"Console reviewer: demo-reviewer\s+password: (\S+)", result.output)
    assert match, result.output
    return result.output, match.group(1)


def _counts(url: str) -> tuple[int, int, int, set[str]]:
    with session_scope(url) as session:
        decisions = session.execute(select(func.count()).select_from(MessageDecisionRow)).scalar_one()
        cases = session.execute(select(CaseRow.conversation_id, CaseRow.status)).all()
        users = session.execute(select(func.count()).select_from(ConsoleUser)).scalar_one()
    return decisions, len(cases), users, {c for c, status in cases if status == "open"}


def _login(client: TestClient, password: str) -> int:
    page = client.get("/console/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post(
        "/console/login",
        data={"username": "demo-reviewer", "password": password, "csrf_token": token},
        follow_redirects=False,
    )
    return response.status_code


def test_demo_seeds_a_reviewer_and_open_cases_idempotently(demo_db: str) -> None:
    first, password = _run()
    assert "147 new messages decided, 5 open demo cases" in first
    decisions, cases, users, open_conversations = _counts(demo_db)
    assert decisions == 147 and users == 1
    assert open_conversations == GROOMING and cases == len(GROOMING)

    second, new_password = _run()
    assert "0 new messages decided, 5 open demo cases" in second
    assert _counts(demo_db) == (decisions, cases, users, open_conversations)
    assert new_password != password

    from safeguard.server import create_app
    from safeguard.text import load_detector

    dispose_engines()
    with TestClient(
        create_app(Settings(database_url=demo_db), detector=load_detector(embeddings=False))
    ) as client:
        assert _login(client, password) == 401  # each run sets a new password
        assert _login(client, new_password) == 303
        queue = client.get("/console").text
    shown = set(re.findall(r'href="/console/cases/([0-9a-f]+)"', queue))
    with session_scope(demo_db) as session:
        open_ids = set(session.execute(select(CaseRow.id).where(CaseRow.status == "open")).scalars())
    assert shown == open_ids and len(shown) == len(GROOMING)
