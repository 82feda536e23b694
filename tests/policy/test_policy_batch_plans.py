"""The message path's batch read finds its rows through indexes, on tables of a
realistic size, on both backends (a full scan per batch grows with the platform)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import event, insert, text

from safeguard.accounts.models import (
    Account,
    AccountRiskScore,
    AccountSignal,
    Connection,
    ContactEvent,
    ContactPermission,
)
from safeguard.config import Settings
from safeguard.policy.engine import MessageEngine, MessageEvent
from safeguard.policy.models import ConversationRow, MessageDecisionRow
from safeguard.store.db import get_engine, get_sessionmaker, session_scope
from safeguard.text.detector import Detector

ROWS = 5_000
TABLES = (
    "accounts",
    "connections",
    "contact_permissions",
    "contact_events",
    "account_signals",
    "account_risk",
    "conversations",
    "message_decisions",
)


def _fill(url: str) -> None:
    people = [f"p{i}" for i in range(ROWS)]
    earlier = datetime.now(UTC) - timedelta(days=3)
    rows = {
        Account.__table__: [{"id": p, "age_band": ("child", "adult")[i % 2]} for i, p in enumerate(people)],
        Connection.__table__: [{"a_id": p, "b_id": f"q{i}"} for i, p in enumerate(people)],
        ContactPermission.__table__: [{"minor_id": p, "other_id": f"q{i}"} for i, p in enumerate(people)],
        ContactEvent.__table__: [
            {"sender_id": p, "recipient_id": f"q{i}", "at": earlier} for i, p in enumerate(people)
        ],
        AccountSignal.__table__: [
            {"account_id": p, "category": "secrecy", "conversation_id": f"c{i}"} for i, p in enumerate(people)
        ],
        AccountRiskScore.__table__: [{"account_id": p} for p in people],
        ConversationRow.__table__: [{"id": f"c{i}", "state": None} for i in range(ROWS)],
        MessageDecisionRow.__table__: [
            {
                "message_id": f"m{i}",
                "conversation_id": f"c{i}",
                "sender_id": people[i],
                "action": "allow",
                "risk": 0.0,
                "conversation_risk": 0.0,
                "decision": {},
            }
            for i in range(ROWS)
        ],
    }
    with session_scope(url) as session:
        for table, values in rows.items():
            session.execute(insert(table), values)
        session.execute(text("ANALYZE"))


def _batch_read(url: str) -> tuple[str, object]:
    """Decide one batch; the batch read's SQL and parameters as sent to the driver."""
    seen: list[tuple[str, object]] = []
    engine = get_engine(url)

    def capture(_conn, _cursor, statement, parameters, _context, _many) -> None:  # type: ignore[no-untyped-def]
        if "message_decisions.message_id" in statement and "UNION ALL" in statement:
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        detector = Detector(embeddings=False)
        decisions = MessageEngine(get_sessionmaker(url), detector, Settings(database_url=url))
        decisions.process_many(
            [
                MessageEvent("c1", "new-1", "p1", "hello", ("p2",)),
                MessageEvent("c7", "new-2", "p7", "hi there", ("q7", "p8")),
            ]
        )
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert seen, "the batch read was not sent"
    return seen[0]


def _plan(url: str, statement: str, parameters: object) -> list[str]:
    engine = get_engine(url)
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)  # type: ignore[arg-type]
            return [row[3] for row in rows]
        # The plan a prepared statement keeps (the service's loop engine forces generic plans).
        names: list[str] = []

        def number(match: re.Match[str]) -> str:
            names.append(match.group(1))
            return f"${len(names)}"

        numbered = re.sub(r"%\((\w+)\)s", number, statement)
        raw = connection.connection.driver_connection
        assert raw is not None and isinstance(parameters, dict)
        from psycopg import sql

        raw.execute("SET plan_cache_mode = force_generic_plan")
        raw.execute(f"PREPARE batch_read AS {numbered}")
        arguments = sql.SQL(", ").join(sql.Literal(parameters[name]) for name in names)
        query = sql.SQL("EXPLAIN EXECUTE batch_read({})").format(arguments)
        return [row[0] for row in raw.execute(query)]


def test_the_batch_read_uses_an_index_for_every_table(db_url: str) -> None:
    _fill(db_url)
    statement, parameters = _batch_read(db_url)
    plan = "\n".join(_plan(db_url, statement, parameters))
    tables = "|".join(TABLES)
    full_scans = re.findall(rf"(?:^SCAN|Seq Scan on) ({tables})\b", plan, flags=re.MULTILINE)
    assert full_scans == [], plan
    assert re.search(r"account_signals", plan), plan
