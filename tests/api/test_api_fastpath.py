"""The message hot path (``safeguard.api.fastpath``): same answers as the FastAPI route.

Valid requests with a cached ingest key are answered by the hot path; anything
else reaches FastAPI with its body replayed, so error answers are the route's.
"""

from __future__ import annotations

import pytest
from api_support import Service

from safeguard.api import fastpath

MESSAGE = {
    "conversation_id": "fast-1",
    "message_id": "m-1",
    "sender_id": "adult-1",
    "text": "hello there",
    "recipient_ids": ["child-1"],
}


@pytest.fixture
def answered(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Message ids the hot path answered itself."""
    seen: list[str] = []
    original = fastpath.MessageFastPath._answer

    async def spy(self, send, request):  # type: ignore[no-untyped-def]
        seen.append(request.message_id)
        await original(self, send, request)

    monkeypatch.setattr(fastpath.MessageFastPath, "_answer", spy)
    return seen


def _warm(service: Service) -> None:
    """Use the ingest key once through FastAPI, so the key cache holds it."""
    service.put_account("adult-1", "adult")
    service.put_account("child-1", "child")


def _post(service: Service, body: dict, content_type: str = "application/json"):  # type: ignore[no-untyped-def]
    import json

    return service.client.post(
        "/v1/messages",
        content=json.dumps(body).encode(),
        headers={**service.auth(), "content-type": content_type},
    )


def test_valid_messages_take_the_hot_path_with_the_routes_answer(
    service: Service, answered: list[str]
) -> None:
    _warm(service)
    first = _post(service, MESSAGE)
    fast = _post(service, {**MESSAGE, "message_id": "m-2"})
    assert fast.status_code == 200 and answered == ["m-1", "m-2"]
    # A content type the hot path does not claim goes through FastAPI: same decision.
    slow = _post(service, {**MESSAGE, "message_id": "m-3"}, "application/json;charset=UTF-8")
    assert slow.status_code == 200 and "m-3" not in answered
    for response in (first, fast, slow):
        assert response.headers["content-type"] == "application/json"
    assert fast.json()["action"] == slow.json()["action"] == "require_confirmation"
    assert fast.json()["warn_recipient"] == slow.json()["warn_recipient"]
    assert set(fast.json()) == set(slow.json())


def test_replays_carry_the_header_on_both_paths(service: Service, answered: list[str]) -> None:
    _warm(service)
    _post(service, MESSAGE)
    again = _post(service, MESSAGE)
    assert again.headers["idempotent-replay"] == "true" and answered == ["m-1", "m-1"]
    slow_again = _post(service, MESSAGE, "application/json;charset=UTF-8")
    assert slow_again.headers["idempotent-replay"] == "true"
    assert again.json() == slow_again.json()


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"recipient_ids": []}, 422, "recipient_ids"),
        ({"text": 5}, 422, "text"),
        ({"recipient_ids": [f"r{i}" for i in range(101)]}, 400, "recipient_ids"),
    ],
)
def test_bad_bodies_get_fastapis_errors(
    make_service, answered: list[str], change: dict, status: int, field: str
) -> None:  # type: ignore[no-untyped-def]
    service = make_service(api={"max_recipients": 100})
    _warm(service)
    _post(service, {**MESSAGE, "message_id": "warm"})
    response = _post(service, {**MESSAGE, **change})
    assert response.status_code == status
    assert response.json()["field"] == field
    assert answered == ["warm"]


def test_keys_scopes_and_rate_limits_are_enforced(make_service, answered: list[str]) -> None:  # type: ignore[no-untyped-def]
    service = make_service(api={"rate_per_second": 0.001, "burst": 3})
    _warm(service)  # two requests with the key: one token left
    assert _post(service, {**MESSAGE, "message_id": "a"}).status_code == 200
    limited = _post(service, {**MESSAGE, "message_id": "c"})
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    review = service.client.post("/v1/messages", json=MESSAGE, headers=service.auth("review"))
    assert review.status_code == 403
    missing = service.client.post("/v1/messages", json=MESSAGE)
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    wrong = service.client.post("/v1/messages", json=MESSAGE, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert answered == ["a"]


def test_oversized_bodies_are_413_on_the_hot_path(make_service) -> None:  # type: ignore[no-untyped-def]
    service = make_service(api={"max_body_bytes": 2048})
    _warm(service)
    response = _post(service, {**MESSAGE, "text": "x" * 5000})
    assert response.status_code == 413


def test_metrics_see_hot_path_requests(service: Service, answered: list[str]) -> None:
    _warm(service)
    _post(service, {**MESSAGE, "message_id": "warm"})
    _post(service, MESSAGE)
    assert answered == ["warm", "m-1"]
    text = service.client.get("/metrics", headers=service.auth("admin")).text
    assert 'safeguard_http_requests_total{method="POST",route="/v1/messages",status="200"} 2.0' in text
