"""A reused ``message_id`` never hands a new message someone else's decision.

Before: the same ``message_id`` sent in another conversation, by a stranger, to a
verified child, with grooming text, got the first message's ``allow`` and
``Idempotent-Replay: true``, and never entered any risk. Now the key is
``(conversation_id, message_id)`` and is bound to the request: an exact retry
replays, other content under the same key is a 409 naming the field.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from safeguard.accounts.keys import create_key
from safeguard.config import Settings
from safeguard.policy.engine import MessageEngine, MessageEvent
from safeguard.policy.models import ConversationRow, MessageDecisionRow
from safeguard.server import create_app
from safeguard.store.db import get_sessionmaker, session_scope
from safeguard.text import load_detector

GROOMING = "how old r u? ur so mature. add me on snap and dont tell ur mum, our secret"


@pytest.fixture
def api(db_url: str, isolated_settings: None) -> Iterator[tuple[TestClient, dict[str, str]]]:
    app = create_app(Settings(database_url=db_url), detector=load_detector(embeddings=False))
    with session_scope(db_url) as session:
        key = create_key(session, ["ingest"])[1]
    headers = {"Authorization": f"Bearer {key}"}
    with TestClient(app) as client:
        accounts = {"friend": "adult", "pal": "adult", "stranger9": "adult", "kid1": "child"}
        for account, band in accounts.items():
            body = {"age_band": band, "age_assurance": "verified"}
            assert client.put(f"/v1/accounts/{account}", json=body, headers=headers).status_code == 200
        assert client.put("/v1/connections/friend/pal", headers=headers).status_code == 200
        yield client, headers


def _post(client: TestClient, headers: dict[str, str], **fields: object):  # type: ignore[no-untyped-def]
    body = {
        "conversation_id": "c1",
        "message_id": "m1",
        "sender_id": "friend",
        "recipient_ids": ["pal"],
        "text": "see you at five",
        **fields,
    }
    return client.post("/v1/messages", json=body, headers=headers)


def test_the_same_id_in_another_conversation_is_a_new_message(api, db_url: str) -> None:  # type: ignore[no-untyped-def]
    client, headers = api
    first = _post(client, headers)
    assert first.status_code == 200 and first.json()["action"] == "allow"
    reused = _post(
        client, headers, conversation_id="c2", sender_id="stranger9", recipient_ids=["kid1"], text=GROOMING
    )
    assert reused.status_code == 200
    assert "idempotent-replay" not in reused.headers
    decision = reused.json()
    assert decision["action"] != "allow"  # the child-safety rules ran on it
    assert decision["risk"] > 0
    with session_scope(db_url) as session:
        assert session.get(ConversationRow, "c2").message_count == 1  # it entered the conversation's risk
        assert session.get(MessageDecisionRow, ("c2", "m1")).sender_id == "stranger9"
        assert session.get(MessageDecisionRow, ("c1", "m1")).sender_id == "friend"


def test_an_exact_retry_replays_the_stored_decision(api) -> None:  # type: ignore[no-untyped-def]
    client, headers = api
    first = _post(client, headers)
    again = _post(client, headers, recipient_ids=["pal", "pal"])  # the same recipients as a set
    assert again.status_code == 200
    assert again.headers["idempotent-replay"] == "true"
    assert again.json() == first.json()


@pytest.mark.parametrize(
    ("changed", "field"),
    [
        ({"sender_id": "stranger9"}, "sender_id"),
        ({"recipient_ids": ["kid1"]}, "recipient_ids"),
        ({"recipient_ids": ["pal", "kid1"]}, "recipient_ids"),
        ({"text": GROOMING}, "text"),
    ],
)
def test_other_content_under_the_same_key_is_a_conflict(api, db_url: str, changed: dict, field: str) -> None:  # type: ignore[no-untyped-def]
    client, headers = api
    assert _post(client, headers).status_code == 200
    response = _post(client, headers, **changed)
    assert response.status_code == 409
    body = response.json()
    assert body["field"] == field
    assert "message_id 'm1'" in body["detail"] and "conversation 'c1'" in body["detail"]
    with session_scope(db_url) as session:
        stored = session.get(MessageDecisionRow, ("c1", "m1"))
        assert stored.sender_id == "friend" and stored.action == "allow"  # nothing overwritten
        assert session.get(ConversationRow, "c1").message_count == 1  # nothing counted twice


def test_the_engine_reports_a_conflict_in_a_batch_without_failing_the_others(db_url: str) -> None:
    """The stream workers and batch tools decide through ``process_many``: a conflicting
    event comes back marked, the rest of its batch is decided."""
    detector = load_detector(embeddings=False)
    engine = MessageEngine(get_sessionmaker(db_url), detector, Settings(database_url=db_url))
    try:
        engine.process_many([MessageEvent("c1", "m1", "friend", "hello", ("pal",))])
        outcomes = engine.process_many(
            [
                MessageEvent("c1", "m1", "friend", "hello", ("pal",)),
                MessageEvent("c1", "m1", "friend", "something else", ("pal",)),
                MessageEvent("c1", "m2", "friend", "new message", ("pal",)),
            ]
        )
    finally:
        engine.close()
    assert [(o.created, o.conflict) for o in outcomes] == [(False, None), (False, "text"), (True, None)]
