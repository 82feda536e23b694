"""Issue 15 item 7: matched media is shown unblurred only after an audited reveal.

Whatever a reviewer sends (a URL parameter, a form field, a plain GET), a
case page shows an item revealed only when the audit chain holds a
``reveal_media`` record for that reviewer, case and item from this login
session; everything else stays blurred.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))

from web_support import PASSWORDS, Harness, bank_benign_image, build, create_users, csrf

from safeguard.evidence import chain
from safeguard.evidence.models import EvidenceRecord
from safeguard.store.db import session_scope


@pytest.fixture
def console(isolated_settings: None, tmp_path: Path) -> Iterator[Harness]:
    """A service with users rev, rev2 (reviewers) and boss (admin), on SQLite."""
    from safeguard.store.db import dispose_engines

    url = f"sqlite:///{tmp_path / 'console.db'}"
    harness, client = build(url)
    create_users(url)
    yield harness
    client.__exit__(None, None, None)
    dispose_engines()


@pytest.fixture
def media_case(console: Harness) -> str:
    """A case holding one matched image (item 0)."""
    sha = bank_benign_image(console.url)
    return console.media("adult-2", ["child-2"], sha, mid="img-1")["case_id"]


def logged_in(harness: Harness, username: str) -> TestClient:
    """A browser (HTTPS, so the Secure cookies are sent) logged in as ``username``."""
    client = TestClient(harness.client.app, base_url="https://testserver")
    token = csrf(client.get("/console/login").text)
    response = client.post(
        "/console/login",
        data={"username": username, "password": PASSWORDS[username], "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return client


def reveals(url: str, case_id: str) -> set[tuple[str, int]]:
    """(actor, item) of every reveal_media record for the case."""
    with session_scope(url) as session:
        rows = session.execute(
            select(EvidenceRecord).where(
                EvidenceRecord.action == "reveal_media", EvidenceRecord.case_id == case_id
            )
        ).scalars()
        return {(r.actor, int((chain.payload_of(r) or {}).get("item", -1))) for r in rows}


def shown(html: str) -> set[int]:
    """Indexes of the media items a page renders unblurred."""
    return {int(i) for i in re.findall(r'class="media-item revealed" id="media-(\d+)"', html)}


def concealed(html: str) -> set[int]:
    return {int(i) for i in re.findall(r'class="media-item concealed" id="media-(\d+)"', html)}


def assert_audited(html: str, url: str, case_id: str, actor: str) -> None:
    """Every item the page shows unblurred has a reveal_media record for this reviewer."""
    missing = {i for i in shown(html) if (actor, i) not in reveals(url, case_id)}
    assert not missing, f"items {missing} shown unblurred without a reveal_media record"


@pytest.mark.parametrize(
    "query",
    ["?revealed=0", "?revealed=0&revealed=1", "?revealed=00", "?msg=media_revealed&revealed=0"],
)
def test_url_parameters_do_not_reveal_media(console: Harness, media_case: str, query: str) -> None:
    client = logged_in(console, "rev")
    page = client.get(f"/console/cases/{media_case}{query}")
    assert page.status_code == 200
    assert concealed(page.text) == {0} and shown(page.text) == set()
    assert reveals(console.url, media_case) == set()


def test_a_forged_form_field_does_not_reveal_other_items(console: Harness, media_case: str) -> None:
    client = logged_in(console, "rev")
    token = csrf(client.get(f"/console/cases/{media_case}").text)
    page = client.post(
        f"/console/cases/{media_case}/reveal", data={"item": "7", "revealed": "0", "csrf_token": token}
    )
    assert page.status_code == 200
    assert 0 not in shown(page.text)
    assert_audited(page.text, console.url, media_case, "console:rev")


def test_the_audited_reveal_shows_the_item_to_that_reviewer_only(console: Harness, media_case: str) -> None:
    rev = logged_in(console, "rev")
    token = csrf(rev.get(f"/console/cases/{media_case}").text)
    page = rev.post(f"/console/cases/{media_case}/reveal", data={"item": "0", "csrf_token": token})
    assert shown(page.text) == {0}
    assert ("console:rev", 0) in reveals(console.url, media_case)
    again = rev.get(f"/console/cases/{media_case}")
    assert shown(again.text) == {0}, "a revealed item stays revealed for the rest of the session"
    assert_audited(again.text, console.url, media_case, "console:rev")
    boss = logged_in(console, "boss")
    assert concealed(boss.get(f"/console/cases/{media_case}?revealed=0").text) == {0}
    later = logged_in(console, "rev")
    assert concealed(later.get(f"/console/cases/{media_case}").text) == {0}, "a new session starts blurred"


def test_a_reveal_without_a_valid_token_shows_nothing(console: Harness, media_case: str) -> None:
    rev = logged_in(console, "rev")
    forged = rev.post(f"/console/cases/{media_case}/reveal", data={"item": "0", "csrf_token": "forged"})
    assert forged.status_code == 403
    page = rev.get(f"/console/cases/{media_case}")
    assert concealed(page.text) == {0}
    assert reveals(console.url, media_case) == set()
