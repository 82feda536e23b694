"""Bad input (4xx naming the field), request-size limits, rate limits, metrics, logs."""

from __future__ import annotations

import pytest
from api_support import Service

from safeguard.api.logging import configure_logging

MESSAGE = {"conversation_id": "c", "message_id": "m", "sender_id": "s", "text": "hi", "recipient_ids": ["r"]}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"recipient_ids": []}, "recipient_ids"),
        ({"message_id": ""}, "message_id"),
        ({"sender_id": "a\x00b"}, "sender_id"),
        ({"text": 5}, "text"),
        ({"sender_age_band": "toddler"}, "sender_age_band"),
        ({"conversation_id": "x" * 129}, "conversation_id"),
    ],
)
def test_bad_message_is_422_naming_the_field(service: Service, change: dict, field: str) -> None:
    response = service.client.post("/v1/messages", json={**MESSAGE, **change}, headers=service.auth())
    assert response.status_code == 422
    body = response.json()
    assert body["field"] == field
    assert body["detail"].startswith(f"field '{field}': ")


def test_missing_field_and_bad_json(service: Service) -> None:
    missing = {k: v for k, v in MESSAGE.items() if k != "sender_id"}
    response = service.client.post("/v1/messages", json=missing, headers=service.auth())
    assert response.json()["detail"] == "field 'sender_id': Field required"
    broken = service.client.post(
        "/v1/messages", content=b"{nope", headers={**service.auth(), "content-type": "application/json"}
    )
    assert broken.status_code == 422


def test_configured_recipient_and_candidate_limits(make_service) -> None:  # type: ignore[no-untyped-def]
    svc = make_service(api={"max_recipients": 2, "max_candidates": 1})
    many = {**MESSAGE, "recipient_ids": ["a", "b", "c"]}
    response = svc.client.post("/v1/messages", json=many, headers=svc.auth())
    assert response.status_code == 400
    assert response.json() == {
        "detail": "field 'recipient_ids': at most 2 recipients per message",
        "field": "recipient_ids",
    }
    response = svc.client.post(
        "/v1/suggestions/filter",
        json={"viewer_id": "v", "candidate_ids": ["a", "b"]},
        headers=svc.auth(),
    )
    assert response.status_code == 400 and response.json()["field"] == "candidate_ids"


def test_bad_age_band_names_field(service: Service) -> None:
    response = service.client.put("/v1/accounts/x", json={"age_band": "old"}, headers=service.auth())
    assert response.status_code == 422
    assert response.json()["field"] == "age_band"


def test_oversized_body_is_413(service: Service) -> None:
    big = {**MESSAGE, "text": "a" * (70 * 1024)}
    response = service.client.post("/v1/messages", json=big, headers=service.auth())
    assert response.status_code == 413
    assert "larger than 65536 bytes" in response.json()["detail"]


def test_streamed_oversized_body_is_413(service: Service) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(20):
            yield b"x" * 8192

    response = service.client.post(
        "/v1/messages",
        content=chunks(),
        headers={**service.auth(), "content-type": "application/json"},
    )
    assert response.status_code == 413


def test_rate_limit_per_key(make_service) -> None:  # type: ignore[no-untyped-def]
    svc = make_service(api={"rate_per_second": 0.001, "burst": 3})
    codes = [svc.client.get("/v1/accounts/x/risk", headers=svc.auth("review")).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = svc.client.get("/v1/accounts/x/risk", headers=svc.auth("review"))
    assert limited.json()["detail"] == "rate limit exceeded for this API key"
    assert int(limited.headers["retry-after"]) >= 1
    other_key = svc.client.get("/v1/accounts/x/risk", headers=svc.auth("admin"))
    assert other_key.status_code == 200


def test_metrics_count_decisions(service: Service) -> None:
    service.message("adult-1", ["child-1"], "hello", message_id="m1")
    text = service.client.get("/metrics", headers=service.auth("admin")).text
    assert 'safeguard_decisions_total{action="require_confirmation",kind="message"} 1.0' in text
    assert 'route="/v1/messages",status="200"' in text


def test_logs_are_json_and_never_contain_message_text(
    service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("debug")
    secret_text = "unique-text-7f3a add me on snap ESCALATE"
    service.message("adult-2", ["child-1"], secret_text, message_id="m1")
    service.client.post(
        "/v1/messages", json={**MESSAGE, "text": secret_text, "recipient_ids": []}, headers=service.auth()
    )
    captured = capsys.readouterr()
    logs = captured.err + captured.out
    assert '"event": "request"' in logs and '"route": "/v1/messages"' in logs
    assert "unique-text-7f3a" not in logs
    assert "snap" not in logs
    configure_logging("info")
