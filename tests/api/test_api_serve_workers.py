"""`safeguard serve --workers 2`: two processes share the port and the database.

Concurrent messages over many connections are each decided exactly once, each
conversation's state counts each message once (whichever process took it),
and /metrics sums the processes' counters.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from api_support import free_port, wait_for_port
from sqlalchemy import select

from safeguard.accounts.keys import create_key
from safeguard.accounts.service import upsert_account
from safeguard.config import Settings
from safeguard.policy.models import ConversationRow, MessageDecisionRow
from safeguard.server.serve import per_process_settings
from safeguard.store.db import session_scope

SAFEGUARD = str(Path(sys.executable).parent / "safeguard")
TOTAL = 400
CONVERSATIONS = 10


def test_each_process_holds_its_share_of_the_rate_limit() -> None:
    settings = Settings()
    split = per_process_settings(settings, 2)
    assert split.api.rate_per_second == pytest.approx(settings.api.rate_per_second / 2)
    assert split.api.burst == max(1, settings.api.burst // 2)
    assert per_process_settings(settings, 1) is settings


@pytest.mark.slow
def test_two_workers_decide_each_message_once(db_url: str, tmp_path: Path) -> None:
    settings = Settings(database_url=db_url)
    with session_scope(db_url) as session:
        keys = {scope: create_key(session, [scope])[1] for scope in ("ingest", "admin")}
        upsert_account(session, "adult", age_band="adult", settings=settings)
        for c in range(CONVERSATIONS):
            upsert_account(session, f"kid-{c}", age_band="child", settings=settings)
    port = free_port()
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = {
        **os.environ,
        "SAFEGUARD_DATABASE_URL": db_url,
        "SAFEGUARD_DETECTOR_EMBEDDINGS": "false",
        "SAFEGUARD_API__SENDER_LIMITS": "",  # a load run: few senders, many messages
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    server = subprocess.Popen(
        [SAFEGUARD, "serve", "--port", str(port), "--workers", "2", "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, timeout=60)
        base = f"http://127.0.0.1:{port}"

        def send(i: int) -> dict:
            c = i % CONVERSATIONS
            body = {
                "conversation_id": f"conv-{c}",
                "message_id": f"m-{i}",
                "sender_id": "adult" if i % 2 else f"kid-{c}",
                "text": "add me on snap" if i % 7 == 0 else "how was your day",
                "recipient_ids": [f"kid-{c}"] if i % 2 else ["adult"],
            }
            with httpx.Client(base_url=base, timeout=30) as client:
                for _ in range(50):  # a new worker may not be accepting yet
                    try:
                        response = client.post(
                            "/v1/messages", json=body, headers={"Authorization": f"Bearer {keys['ingest']}"}
                        )
                        break
                    except httpx.TransportError:
                        continue
            assert response.status_code == 200, response.text
            return response.json()

        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(send, range(TOTAL)))
        assert len(answers) == TOTAL
        metrics = httpx.get(f"{base}/metrics", headers={"Authorization": f"Bearer {keys['admin']}"}).text
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    with session_scope(db_url) as session:
        decided = session.execute(select(MessageDecisionRow.message_id)).scalars().all()
        rows = {row.id: row for row in session.execute(select(ConversationRow)).scalars()}
    assert sorted(decided) == sorted(f"m-{i}" for i in range(TOTAL))
    for c in range(CONVERSATIONS):
        row = rows[f"conv-{c}"]
        assert row.message_count == TOTAL // CONVERSATIONS
        assert row.state["message_count"] == TOTAL // CONVERSATIONS
    counted = re.search(
        r'safeguard_http_requests_total\{method="POST",route="/v1/messages",status="200"\} (\S+)', metrics
    )
    assert counted is not None and float(counted.group(1)) == TOTAL
