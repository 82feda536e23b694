"""The account page: one account's cases, the children it contacted, risk reasons, media matches."""

from __future__ import annotations

import re

from sqlalchemy import select
from web_support import Harness, bank_benign_image, login

from safeguard.evidence.models import EvidenceRecord
from safeguard.store.db import session_scope


def test_account_page_shows_cases_children_reasons_and_media(console: Harness) -> None:
    console.account("adult-9", "adult")
    first = console.grooming_case(conv="acct-1", child="child-1", adult="adult-9")
    second = console.grooming_case(conv="acct-2", child="child-2", adult="adult-9")
    sha = bank_benign_image(console.url)
    console.media("adult-9", ["child-1"], sha, mid="img-9")
    client = login(console, "rev")
    queue = client.get("/console").text
    assert 'href="/console/accounts/adult-9"' in queue
    case_page = client.get(f"/console/cases/{first}").text
    assert 'class="account-link" href="/console/accounts/adult-9"' in case_page
    page = client.get("/console/accounts/adult-9")
    assert page.status_code == 200
    assert first[:12] in page.text and second[:12] in page.text
    assert page.text.count('<tr class="child-contact">') == 2
    assert "child-1" in page.text and "child-2" in page.text
    assert '<tr class="media-match"><td>test-bank</td>' in page.text
    assert re.search(r'<ul class="reasons"><li><code>\w+</code> \S', page.text)
    with session_scope(console.url) as session:
        actors = session.execute(
            select(EvidenceRecord.actor).where(EvidenceRecord.action == "view_account")
        ).scalars()
        assert list(actors) == ["console:rev"]


def test_account_page_needs_a_login(console: Harness) -> None:
    from web_support import browser

    response = browser(console).get("/console/accounts/adult-9", follow_redirects=False)
    assert response.status_code in (302, 303) and "/console/login" in response.headers["location"]


def test_account_page_links_accounts_sending_the_same_script(console: Harness) -> None:
    # The console's keyword detector marks "or i will tell everyone" as coercion, which is fingerprinted.
    script = "i have your pics, send me {} dollars in gift cards or i will tell everyone you know"
    console.account("ring-a", "adult")
    console.account("ring-b", "adult")
    for i, (sender, child) in enumerate([("ring-a", "child-1"), ("ring-b", "child-2")]):
        console.message(sender, [child], script.format(100 + i), mid=f"ring-{i}", conv=f"ring-conv-{i}")
    client = login(console, "rev")
    page = client.get("/console/accounts/ring-a").text
    assert '<a class="linked-account" href="/console/accounts/ring-b">ring-b</a>' in page
    unrelated = client.get("/console/accounts/child-1").text
    assert 'class="linked-account"' not in unrelated
