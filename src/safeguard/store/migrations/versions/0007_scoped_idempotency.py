"""Message idempotency keys scoped per conversation and bound to the request.

``message_decisions`` was keyed by ``message_id`` alone, so the same id sent in
another conversation (by another sender, to a child, with other text) got the
first message's decision back and was never scored. The key becomes
``(conversation_id, message_id)``, and ``request_digest`` holds digests of the
recipients and the text, so a replay with different content is refused (409)
instead of answered with a stale decision. Rows written before this revision
have no digest and replay as before.

Revision ID: 0007_scoped_idempotency
Revises: 0006_store_check
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_scoped_idempotency"
down_revision = "0006_store_check"
branch_labels = None
depends_on = None

_COLUMNS = (
    "message_id, conversation_id, sender_id, action, risk, conversation_risk, decision, case_id, created_at"
)


def _table(name: str, key: tuple[str, ...], digest: bool) -> None:
    op.create_table(
        name,
        sa.Column("conversation_id", sa.String(128), nullable=False),
        sa.Column("message_id", sa.String(128), nullable=False),
        sa.Column("sender_id", sa.String(128), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("risk", sa.Float, nullable=False),
        sa.Column("conversation_risk", sa.Float, nullable=False),
        sa.Column("decision", sa.JSON, nullable=False),
        sa.Column("case_id", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        *([sa.Column("request_digest", sa.String(80), nullable=True)] if digest else []),
        sa.PrimaryKeyConstraint(*key, name=f"pk_{name}"),
    )


def _rebuild(key: tuple[str, ...], digest: bool) -> None:
    """SQLite cannot change a primary key in place: copy into a new table."""
    op.drop_index("ix_message_decisions_created", table_name="message_decisions")
    _table("message_decisions_new", key, digest)
    op.execute(f"INSERT INTO message_decisions_new ({_COLUMNS}) SELECT {_COLUMNS} FROM message_decisions")
    op.drop_table("message_decisions")
    op.rename_table("message_decisions_new", "message_decisions")
    op.create_index("ix_message_decisions_created", "message_decisions", ["created_at"])


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE message_decisions DROP CONSTRAINT message_decisions_pkey")
        key = ["conversation_id", "message_id"]
        op.create_primary_key("message_decisions_pkey", "message_decisions", key)
        op.add_column("message_decisions", sa.Column("request_digest", sa.String(80), nullable=True))
        return
    _rebuild(("conversation_id", "message_id"), digest=True)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_column("message_decisions", "request_digest")
        op.execute("ALTER TABLE message_decisions DROP CONSTRAINT message_decisions_pkey")
        op.create_primary_key("message_decisions_pkey", "message_decisions", ["message_id"])
        return
    _rebuild(("message_id",), digest=False)
