"""Image requests through the service: an adult's repeated requests for pictures to a
child raise the conversation's image_request / coercion risk (POST /v1/messages hold or
escalate), and a child's image flagged as nudity after those requests (POST /v1/media
with ``conversation_id``) adds coercion on the asker.

The built-in detector (fast path) scores the messages; nudity positives come from a
stub scorer on a benign drawn image.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
import pytest
from api_support import Service
from PIL import Image, ImageDraw

from safeguard.policy.models import ConversationRow
from safeguard.store.db import session_scope
from safeguard.text import Detector

REQUESTS = [
    "send me a pic",
    "send me a pic of you",
    "send me a selfie",
    "show me a photo of yourself",
    "send me another pic",
    "can u send me a picture",
]


def drawn() -> bytes:
    image = Image.new("RGB", (240, 160), "white")
    ImageDraw.Draw(image).rectangle((20, 20, 120, 100), fill="green")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def positive(_rgb: np.ndarray) -> float:
    return 0.9


@pytest.fixture
def real(make_service: Callable[..., Service]) -> Service:
    svc = make_service(detector=Detector(embeddings=False))
    for account_id in ("adult-1", "adult-2", "child-1", "child-2"):
        svc.put_account(account_id, account_id.split("-")[0])
    for a, b in (("adult-1", "child-1"), ("child-1", "child-2"), ("adult-1", "adult-2")):
        svc.connect(a, b)
    return svc


def post(svc: Service, sender: str, to: str, text: str, band: str, mid: str, conversation: str) -> dict:
    response = svc.client.post(
        "/v1/messages",
        json={
            "conversation_id": conversation,
            "message_id": mid,
            "sender_id": sender,
            "recipient_ids": [to],
            "text": text,
            "sender_age_band": band,
        },
        headers=svc.auth(),
    )
    assert response.status_code == 200, response.text
    return response.json()


def asked(
    svc: Service, n: int, conversation: str, asker: tuple[str, str], other: tuple[str, str]
) -> list[dict]:
    """``n`` requests for pictures, each answered with a refusal; the asker's decisions."""
    out = []
    for i in range(n):
        out.append(post(svc, asker[0], other[0], REQUESTS[i], asker[1], f"{conversation}-a{i}", conversation))
        post(svc, other[0], asker[0], "no", other[1], f"{conversation}-o{i}", conversation)
    return out


def stored_state(svc: Service, conversation: str) -> dict:
    with session_scope(svc.url) as session:
        return dict(session.get(ConversationRow, conversation).state)


def test_repeated_requests_from_an_adult_to_a_child_are_held(real: Service) -> None:
    decisions = asked(real, 6, "c-ac", ("adult-1", "adult"), ("child-1", "child"))
    first, last = decisions[0], decisions[-1]
    assert first["action"] not in ("hold", "escalate")  # one request alone is not held
    assert last["action"] in ("hold", "escalate")
    assert last["conversation_risk"] >= real.settings.thresholds.hold
    assert any(r["code"].startswith("grooming_risk") for r in last["reasons"])
    risks = [d["conversation_risk"] for d in decisions]
    assert risks == sorted(risks)
    state = stored_state(real, "c-ac")
    assert [e["kind"] for e in state["image_events"]] == ["request"] * 6
    restored = Detector(embeddings=False).restore_conversation(state)
    assert restored.evidence["coercion"] > 0.5
    why = {s.reason for s in restored.signals if not s.excerpt}  # the image-request evidence
    assert why == {"asked a child for images 6 times", "kept asking a child for images (6 requests)"}


def test_one_request_alone_is_not_held(real: Service) -> None:
    (decision,) = asked(real, 1, "c-one", ("adult-1", "adult"), ("child-1", "child"))
    assert decision["action"] not in ("hold", "escalate")
    restored = Detector(embeddings=False).restore_conversation(stored_state(real, "c-one"))
    assert "coercion" not in restored.evidence


@pytest.mark.parametrize(
    ("asker", "other"),
    [(("child-1", "child"), ("child-2", "child")), (("adult-1", "adult"), ("adult-2", "adult"))],
)
def test_children_among_themselves_and_adults_are_not_held(
    real: Service, asker: tuple[str, str], other: tuple[str, str]
) -> None:
    decisions = asked(real, 6, "c-peers", asker, other)
    assert all(d["action"] not in ("hold", "escalate") for d in decisions)
    restored = Detector(embeddings=False).restore_conversation(stored_state(real, "c-peers"))
    assert "coercion" not in restored.evidence


def test_a_childs_flagged_image_after_requests_adds_coercion(real: Service) -> None:
    asked(real, 3, "c-img", ("adult-1", "adult"), ("child-1", "child"))
    before = Detector(embeddings=False).restore_conversation(stored_state(real, "c-img"))
    real.client.app.state.nudity_scorer = positive
    response = real.client.post(
        "/v1/media",
        files={"file": ("x.png", drawn(), "image/png")},
        data={"sender_id": "child-1", "recipient_ids": "adult-1", "message_id": "img-1",
              "conversation_id": "c-img"},
        headers=real.auth(),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["nudity"]["action"] == "warn_before_send"
    assert any(r["code"] == "conversation_coercion" and r["account_id"] == "adult-1" for r in body["reasons"])
    after = Detector(embeddings=False).restore_conversation(stored_state(real, "c-img"))
    assert after.evidence["coercion"] > before.evidence["coercion"]
    assert after.risk > before.risk
    assert after.image_events[-1] == {
        "kind": "image", "sender_id": "child-1", "sender_band": "child", "recipient_band": "adult",
        "message_index": 5, "message_id": "img-1", "nudity_score": 0.9,
    }
    # The adult's next request is decided on the raised conversation risk.
    decision = post(real, "adult-1", "child-1", "send me another pic", "adult", "c-img-next", "c-img")
    assert decision["action"] in ("hold", "escalate")
    assert decision["conversation_risk"] > before.risk
