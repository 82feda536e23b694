"""Rate limits a real platform would keep: per API key and per sender account,
correct across ``serve --workers N`` (shared Redis counters, or shares of the limit).

Before: one per-key limit of 5,000 requests a second (never reached: the service
decides about 1,000), and nothing stopped one end user flooding the service.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from limits import parse_many

from safeguard.accounts.keys import create_key
from safeguard.config import Settings
from safeguard.server import create_app
from safeguard.server.serve import per_process_settings
from safeguard.service.ratelimit import build_limiter, key_limits, share_limits
from safeguard.store.db import session_scope
from safeguard.text import load_detector


@pytest.fixture
def client(tmp_path, isolated_settings: None) -> Iterator[tuple[TestClient, dict[str, str]]]:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'safeguard.db'}"
    settings = Settings(database_url=url, api={"sender_limits": "3/minute"})
    app = create_app(settings, detector=load_detector(embeddings=False))
    with session_scope(url) as session:
        key = create_key(session, ["ingest"])[1]
    with TestClient(app) as test_client:
        yield test_client, {"Authorization": f"Bearer {key}"}


def _send(client: TestClient, headers: dict[str, str], sender: str, n: int):  # type: ignore[no-untyped-def]
    body = {"conversation_id": f"c-{sender}", "message_id": f"m{n}", "sender_id": sender,
            "recipient_ids": ["someone"], "text": "hi"}
    return client.post("/v1/messages", json=body, headers=headers)


def test_one_sender_over_its_limit_is_refused_and_others_are_not(client) -> None:  # type: ignore[no-untyped-def]
    test_client, headers = client
    codes = [_send(test_client, headers, "spammer", n).status_code for n in range(4)]
    assert codes == [200, 200, 200, 429]
    refused = _send(test_client, headers, "spammer", 9)
    assert refused.status_code == 429
    assert refused.json()["field"] == "sender_id" and "'spammer'" in refused.json()["detail"]
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert _send(test_client, headers, "someone-else", 0).status_code == 200
    services = test_client.app.state.services
    assert services.metrics.rate_limited.labels("sender")._value.get() == 2


def test_the_defaults_are_limits_a_platform_would_keep() -> None:
    api = Settings().api
    assert api.rate_per_second <= 2000  # about twice what a 2-core server decides, not 5,000
    senders = parse_many(api.sender_limits)
    per_minute = [item for item in senders if item.GRANULARITY.name == "minute"]
    assert per_minute and per_minute[0].amount <= 120  # far above a person typing, far below a script


def test_key_limits_allow_a_burst_then_hold_the_rate() -> None:
    limiter = build_limiter(0.001, 3, "", "memory://")
    assert [limiter.allow("k")[0] for _ in range(4)] == [True, True, True, False]
    allowed, retry_after = limiter.allow("k")
    assert not allowed and retry_after > 0
    assert [item.amount for item in key_limits(2000, 4000)] == [4000]


def test_workers_without_shared_storage_each_hold_a_share() -> None:
    settings = Settings(api={"sender_limits": "10/second;120/minute"})
    split = per_process_settings(settings, 2)
    assert parse_many(split.api.sender_limits)[1].amount == 60
    assert split.api.rate_per_second == settings.api.rate_per_second / 2
    assert share_limits("1/minute", 4) == "1/1 minute"  # never below one
    shared = Settings(api={"rate_limit_storage": "redis://127.0.0.1:6379/0"})
    assert per_process_settings(shared, 2) is shared  # counters every process sees


def test_counters_in_redis_are_shared_by_every_worker(redis_url: str) -> None:
    first = build_limiter(1000, 1000, "4/minute", redis_url)
    second = build_limiter(1000, 1000, "4/minute", redis_url)
    outcomes = [(first if n % 2 else second).sender("spammer") is None for n in range(6)]
    assert outcomes == [True, True, True, True, False, False]


def test_an_unreachable_shared_store_does_not_stop_decisions() -> None:
    limiter = build_limiter(1000, 1000, "4/minute", "redis://127.0.0.1:9/0")
    assert limiter.sender("someone") is None
