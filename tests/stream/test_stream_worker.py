"""Stream workers: decisions, results, idempotency, dead letters, back-pressure, ordering."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import redis
from sqlalchemy import select
from stream_support import (
    Running,
    conversation_rows,
    decisions,
    fast_config,
    message,
    seed_accounts,
    wait_until,
)

from safeguard.config import Settings
from safeguard.errors import SafeguardError
from safeguard.store.db import session_scope
from safeguard.stream import BackPressureError, EventProducer, StreamLayout, encode_media, encode_message
from safeguard.stream.decide import Decider
from safeguard.stream.models import StreamMediaDecisionRow
from safeguard.text import load_detector


def _results(client: redis.Redis, layout: StreamLayout) -> list[dict]:
    return [fields for _, fields in client.xrange(layout.results)]


def test_worker_decides_publishes_and_trims(redis_url: str, db_url: str) -> None:
    seed_accounts(db_url)
    layout = StreamLayout("t1", partitions=4)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    producer = EventProducer(client, layout)
    events = [message(i) for i in range(60)]
    ids = producer.publish(events)
    assert len(ids) == 60
    running = Running(redis_url, db_url, layout)
    running.start()
    try:
        wait_until(lambda: client.xlen(layout.results) >= 60)
        wait_until(lambda: all(client.xlen(s) == 0 for s in layout.streams()))
    finally:
        running.stop()
    stored = decisions(db_url)
    assert set(stored) == {e.message_id for e in events}
    results = _results(client, layout)
    assert sorted(r["event_id"] for r in results) == sorted(stored)
    for r in results:
        assert r["created"] == "1"
        assert json.loads(r["decision"]) == stored[r["event_id"]].decision
    assert client.xlen(layout.dead) == 0


def test_two_workers_keep_each_conversation_in_order(redis_url: str, db_url: str) -> None:
    seed_accounts(db_url)
    layout = StreamLayout("t2", partitions=8)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    producer = EventProducer(client, layout)
    running = Running(redis_url, db_url, layout)
    first = running.start()
    second = running.start()
    events = [message(i) for i in range(240)]
    try:
        for start in range(0, len(events), 40):
            producer.publish(events[start : start + 40])
        wait_until(lambda: len(decisions(db_url)) >= len(events))
        wait_until(lambda: client.xlen(layout.results) >= len(events))
    finally:
        running.stop()
    assert first.stats.decided + second.stats.decided == len(events)
    detector = load_detector(embeddings=False)
    expected = {}
    for event in events:
        state = expected.setdefault(event.conversation_id, detector.new_conversation(event.conversation_id))
        # The engine tells the state the stored bands (seed_accounts) of sender and recipients.
        bands = ["adult" if r == "adult" else "child" for r in event.recipient_ids]
        sent = dataclasses.replace(
            event.to_message(), sender_age_band="adult" if event.sender_id == "adult" else "child"
        )
        state.add_message(sent, recipient_age_bands=bands)
    rows = conversation_rows(db_url)
    for conversation_id, state in expected.items():
        stored = rows[conversation_id]
        assert stored.message_count == state.message_count
        assert stored.state["message_count"] == state.message_count
        assert stored.state["risk"] == pytest.approx(state.risk)
        assert stored.state["image_events"] == state.to_dict()["image_events"]
        restored = detector.restore_conversation(stored.state)
        assert [s.message_id for s in restored.signals] == [s.message_id for s in state.signals]


def test_redelivered_event_is_answered_from_the_store(redis_url: str, db_url: str) -> None:
    seed_accounts(db_url)
    layout = StreamLayout("t3", partitions=2)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    producer = EventProducer(client, layout)
    producer.publish([message(1), message(1), message(2)])
    running = Running(redis_url, db_url, layout)
    running.start()
    try:
        wait_until(lambda: client.xlen(layout.results) >= 3)
    finally:
        running.stop()
    created = [r["created"] for r in _results(client, layout) if r["event_id"] == "msg-1"]
    assert sorted(created) == ["0", "1"]
    assert conversation_rows(db_url)["conv-1"].message_count == 1


class _FailingDecider(Decider):
    """Fails every attempt at one message id."""

    def messages(self, events):  # type: ignore[no-untyped-def]
        if any(e.message_id == "poison" for e in events):
            raise RuntimeError("model exploded on this event")
        return super().messages(events)


def test_failing_and_invalid_events_go_to_the_dead_letter_stream(redis_url: str, db_url: str) -> None:
    seed_accounts(db_url)
    layout = StreamLayout("t4", partitions=1)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    producer = EventProducer(client, layout)
    poison = message(0)
    poison = type(poison)(**{**{f: getattr(poison, f) for f in poison.__slots__}, "message_id": "poison"})
    producer.publish([message(6), poison, message(12), message(1)])
    producer.publish_fields([{"kind": "message", "data": "{not json"}, {"kind": "telepathy", "data": "{}"}])
    running = Running(redis_url, db_url, layout)
    decider = _FailingDecider.from_settings(Settings(database_url=db_url, detector_embeddings=False))
    running.start(fast_config(max_failures=3), decider)
    try:
        wait_until(lambda: client.xlen(layout.dead) >= 3)
        wait_until(lambda: client.xlen(layout.results) >= 3)
        wait_until(lambda: client.xpending(layout.stream(0), layout.group)["pending"] == 0)
    finally:
        running.stop()
    dead = {f["entry_id"]: f for _, f in client.xrange(layout.dead)}
    reasons = sorted(f["reason"] for f in dead.values())
    assert any(r.startswith("failed 3 times; last error: RuntimeError: model exploded") for r in reasons)
    assert sum(r.startswith("invalid event:") for r in reasons) == 2
    poisoned = next(f for f in dead.values() if f["reason"].startswith("failed"))
    assert json.loads(poisoned["data"])["message_id"] == "poison"
    assert set(decisions(db_url)) == {"msg-6", "msg-12", "msg-1"}
    assert conversation_rows(db_url)["conv-0"].message_count == 2


def test_media_event_is_decided_once(redis_url: str, db_url: str) -> None:
    seed_accounts(db_url)
    layout = StreamLayout("t5", partitions=2)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    producer = EventProducer(client, layout)
    media = {"event_id": "media-1", "sender_id": "adult", "recipient_ids": ["kid-1"], "sha256": "ab" * 32}
    producer.publish_fields([encode_media(media), encode_media(media)])
    running = Running(redis_url, db_url, layout)
    running.start()
    try:
        wait_until(lambda: client.xlen(layout.results) >= 2)
    finally:
        running.stop()
    results = _results(client, layout)
    assert sorted(r["created"] for r in results) == ["0", "1"]
    assert {r["action"] for r in results} == {"allow"}
    with session_scope(db_url) as session:
        rows = session.execute(select(StreamMediaDecisionRow)).scalars().all()
        assert [(r.event_id, r.decision["action"]) for r in rows] == [("media-1", "allow")]


def test_media_event_with_a_device_nudity_score_feeds_its_conversation(db_url: str) -> None:
    """A hash-only media event decides nudity for a child as POST /v1/media does, once."""
    from safeguard.stream.events import MediaEventIn

    seed_accounts(db_url)
    decider = Decider.from_settings(Settings(database_url=db_url, detector_embeddings=False))
    try:
        decider.messages([message(i) for i in range(0, 48, 6)])  # conv-0: the adult asks, kid-0 replies
        event = MediaEventIn(
            event_id="media-2", sender_id="kid-0", recipient_ids=["adult"], sha256="cd" * 32,
            nudity_score=0.88, conversation_id="conv-0",
        )
        first, again = decider.media(event), decider.media(event)
    finally:
        decider.close()
    assert first.created and not again.created and again.decision == first.decision
    assert first.decision["nudity"]["action"] == "warn_before_send"
    assert first.decision["action"] == "require_confirmation"
    images = [e for e in conversation_rows(db_url)["conv-0"].state["image_events"] if e["kind"] == "image"]
    assert [(e["sender_id"], e["nudity_score"]) for e in images] == [("kid-0", 0.88)]  # recorded once


def test_producer_waits_then_refuses_when_the_backlog_is_full(redis_url: str, db_url: str) -> None:
    seed_accounts(db_url)
    layout = StreamLayout("t6", partitions=1)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    producer = EventProducer(client, layout, max_backlog=5, timeout=0.2)
    producer.publish([message(i) for i in range(5)])
    with pytest.raises(BackPressureError, match="backlog stayed above 5"):
        producer.publish([message(5)])
    running = Running(redis_url, db_url, layout)
    running.start()
    try:
        producer.timeout = 60
        producer.publish([message(i) for i in range(5, 10)])
        wait_until(lambda: client.xlen(layout.results) >= 10)
    finally:
        running.stop()
    assert len(decisions(db_url)) == 10


def test_partition_count_must_agree(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    StreamLayout("t7", partitions=4).ensure(client)
    with pytest.raises(SafeguardError, match="set up with 4 partitions"):
        EventProducer(client, StreamLayout("t7", partitions=8))


def test_encoded_message_round_trips() -> None:
    from safeguard.stream import decode_event

    event = message(3)
    decoded = decode_event(encode_message(event))
    assert decoded.kind == "message" and decoded.message == event and decoded.key == "conv-3"


def test_publish_command_partitions_a_jsonl_file(redis_url: str, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from safeguard.cli import app

    source = tmp_path / "events.jsonl"
    lines = [json.loads(encode_message(message(i))["data"]) for i in range(9)]
    source.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    result = CliRunner().invoke(
        app, ["publish", str(source), "--stream", redis_url, "--prefix", "t8", "--partitions", "3"]
    )
    assert result.exit_code == 0, result.output
    assert "published 9, rejected 0" in result.output
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    layout = StreamLayout("t8", partitions=3)
    assert sum(client.xlen(s) for s in layout.streams()) == 9
    by_conversation = {}
    for stream in layout.streams():
        for _, fields in client.xrange(stream):
            by_conversation.setdefault(json.loads(fields["data"])["conversation_id"], set()).add(stream)
    assert all(len(streams) == 1 for streams in by_conversation.values())


def test_entries_of_a_dead_consumer_are_claimed_and_crash_loops_dead_lettered(
    redis_url: str, db_url: str
) -> None:
    seed_accounts(db_url)
    layout = StreamLayout("t9", partitions=1)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    producer = EventProducer(client, layout)
    producer.publish([message(0), message(6)])
    stream = layout.stream(0)
    read = client.xreadgroup(layout.group, "ghost", {stream: ">"}, count=2)
    first, second = (entry_id for entry_id, _ in read[0][1])
    client.xclaim(stream, layout.group, "ghost", 0, [first], idle=60_000, retrycount=20)
    client.xclaim(stream, layout.group, "ghost", 0, [second], idle=60_000, retrycount=1)
    running = Running(redis_url, db_url, layout)
    worker = running.start()
    try:
        wait_until(lambda: client.xlen(layout.dead) >= 1 and client.xlen(layout.results) >= 1)
        wait_until(lambda: client.xpending(stream, layout.group)["pending"] == 0)
    finally:
        running.stop()
    assert worker.stats.claimed == 2
    [(_, dead)] = client.xrange(layout.dead)
    assert dead["entry_id"] == first
    assert dead["reason"].startswith("delivered 22 times without a decision")
    assert set(decisions(db_url)) == {"msg-6"}
    consumers = {c["name"] for c in client.xinfo_consumers(stream, layout.group)}
    assert "ghost" not in consumers


def test_a_new_owner_trims_what_an_earlier_owner_acknowledged(redis_url: str, db_url: str) -> None:
    seed_accounts(db_url)
    layout = StreamLayout("t10", partitions=1)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    EventProducer(client, layout).publish([message(0), message(1)])
    stream = layout.stream(0)
    read = client.xreadgroup(layout.group, "gone", {stream: ">"}, count=2)
    client.xack(stream, layout.group, *(entry_id for entry_id, _ in read[0][1]))  # then it died
    assert client.xlen(stream) == 2
    running = Running(redis_url, db_url, layout)
    running.start()
    try:
        # Nothing new arrives on the partition: the backlog the producer sees still drains.
        wait_until(lambda: client.xlen(stream) == 0, timeout=30)
    finally:
        running.stop()
    assert decisions(db_url) == {}  # acknowledged entries are not decided again
