"""SIGKILL of a worker mid-stream: nothing lost, nothing decided twice.

Two `safeguard worker` processes consume a stream being fed in chunks; one is
killed with SIGKILL once decisions are flowing. The survivor takes over its
partitions when the leases expire and claims its pending entries
(XAUTOCLAIM). Then every message has exactly one stored decision, at most one
`created` result and at least one result (a worker killed after its commit but
before publishing leaves the survivor to publish the stored decision as a
replay), and each conversation's state counted each message once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from stream_support import conversation_rows, decisions, message, seed_accounts, wait_until

from safeguard.stream import EventProducer, StreamLayout

SAFEGUARD = str(Path(sys.executable).parent / "safeguard")
TOTAL = 400
CONVERSATIONS = 12


def _worker(redis_url: str, db_url: str, name: str, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SAFEGUARD_DATABASE_URL": db_url, "SAFEGUARD_DETECTOR_EMBEDDINGS": "false"}
    return subprocess.Popen(
        [
            SAFEGUARD,
            "worker",
            "--stream",
            redis_url,
            "--prefix",
            "k9",
            "--partitions",
            "6",
            "--batch",
            "8",
            "--block-ms",
            "100",
            "--lease-ms",
            "1500",
            "--claim-idle-ms",
            "500",
            "--name",
            name,
        ],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


@pytest.mark.slow
def test_sigkill_mid_stream_loses_nothing_and_decides_nothing_twice(
    redis_url: str, db_url: str, tmp_path: Path
) -> None:
    seed_accounts(db_url, CONVERSATIONS)
    layout = StreamLayout("k9", partitions=6)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    producer = EventProducer(client, layout)
    events = [message(i, CONVERSATIONS) for i in range(TOTAL)]
    victim = _worker(redis_url, db_url, "victim", tmp_path / "victim.log")
    survivor = _worker(redis_url, db_url, "survivor", tmp_path / "survivor.log")
    try:
        producer.publish(events[:150])
        wait_until(lambda: client.xlen(layout.results) >= 40, timeout=120)
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=30)
        for start in range(150, TOTAL, 50):
            producer.publish(events[start : start + 50])
        wait_until(lambda: len(decisions(db_url)) >= TOTAL, timeout=180)
        wait_until(
            lambda: all(client.xpending(s, layout.group)["pending"] == 0 for s in layout.streams()),
            timeout=60,
        )
        wait_until(lambda: all(client.xlen(s) == 0 for s in layout.streams()), timeout=60)
    finally:
        for process in (victim, survivor):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
    assert survivor.returncode == 0, (tmp_path / "survivor.log").read_text()
    stored = decisions(db_url)
    assert set(stored) == {e.message_id for e in events}
    results = [f for _, f in client.xrange(layout.results)]
    created = [f["event_id"] for f in results if f["created"] == "1"]
    assert len(created) == len(set(created)), "a message was decided twice"
    assert {f["event_id"] for f in results} == set(stored)
    for result in results:
        assert json.loads(result["decision"]) == stored[result["event_id"]].decision
    per_conversation: dict[str, int] = {}
    for event in events:
        per_conversation[event.conversation_id] = per_conversation.get(event.conversation_id, 0) + 1
    rows = conversation_rows(db_url)
    for conversation_id, count in per_conversation.items():
        assert rows[conversation_id].message_count == count
        assert rows[conversation_id].state["message_count"] == count
    assert client.xlen(layout.dead) == 0
    survivor_log = (tmp_path / "survivor.log").read_text()
    # The worker logs JSON lines (structlog) on stderr.
    records = [json.loads(line) for line in survivor_log.splitlines() if line.startswith("{")]
    acquired = {str(r["partition"]) for r in records if r.get("event") == "partition acquired"}
    assert acquired == {str(k) for k in range(6)}  # it took over the victim's partitions
