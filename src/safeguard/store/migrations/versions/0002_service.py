"""Safety service: accounts, connections, API keys, decisions, escalations, webhooks.

Revision ID: 0002_service
Revises: 0000_base
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_service"
down_revision = "0000_base"
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("age_band", sa.String(16), nullable=False),
        sa.Column("age_assurance", sa.String(16), nullable=False),
        sa.Column("declared_age_band", sa.String(16), nullable=True),
        sa.Column("location", sa.String(256), nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
    )
    op.create_table(
        "connections",
        sa.Column("a_id", sa.String(128), primary_key=True),
        sa.Column("b_id", sa.String(128), primary_key=True),
        _ts("created_at"),
    )
    op.create_index("ix_connections_b", "connections", ["b_id"])
    op.create_table(
        "contact_permissions",
        sa.Column("minor_id", sa.String(128), primary_key=True),
        sa.Column("other_id", sa.String(128), primary_key=True),
        _ts("confirmed_at"),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("scopes", sa.String(128), nullable=False),
        sa.Column("name", sa.String(128), nullable=True),
        _ts("created_at"),
        _ts("revoked_at", nullable=True),
    )
    op.create_table(
        "contact_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("sender_id", sa.String(128), nullable=False),
        sa.Column("recipient_id", sa.String(128), nullable=False),
        _ts("at"),
    )
    op.create_index("ix_contact_events_sender_at", "contact_events", ["sender_id", "at"])
    op.create_table(
        "account_signals",
        sa.Column("account_id", sa.String(128), primary_key=True),
        sa.Column("category", sa.String(32), primary_key=True),
        sa.Column("conversation_id", sa.String(128), primary_key=True),
        sa.Column("count", sa.Integer, nullable=False),
        _ts("last_at"),
    )
    op.create_table(
        "account_media_matches",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.String(128), nullable=False, index=True),
        sa.Column("bank", sa.String(128), nullable=False),
        sa.Column("entry_id", sa.String(128), nullable=False),
        sa.Column("category", sa.Text, nullable=True),
        _ts("at"),
    )
    op.create_table(
        "account_risk",
        sa.Column("account_id", sa.String(128), primary_key=True),
        sa.Column("risk", sa.Float, nullable=False),
        sa.Column("reasons", sa.Text, nullable=False),
        _ts("updated_at"),
    )
    op.create_table(
        "conversations",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("state", sa.JSON, nullable=True),
        sa.Column("risk", sa.Float, nullable=False),
        sa.Column("message_count", sa.Integer, nullable=False),
        _ts("updated_at"),
    )
    op.create_table(
        "message_decisions",
        sa.Column("message_id", sa.String(128), primary_key=True),
        sa.Column("conversation_id", sa.String(128), nullable=False),
        sa.Column("sender_id", sa.String(128), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("risk", sa.Float, nullable=False),
        sa.Column("conversation_risk", sa.Float, nullable=False),
        sa.Column("decision", sa.JSON, nullable=False),
        sa.Column("case_id", sa.String(64), nullable=True),
        _ts("created_at"),
    )
    op.create_index("ix_message_decisions_created", "message_decisions", ["created_at"])
    op.create_table(
        "escalations",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("subject_account_id", sa.String(128), nullable=False, index=True),
        sa.Column("recipient_ids", sa.JSON, nullable=False),
        sa.Column("conversation_id", sa.String(128), nullable=True),
        sa.Column("message_id", sa.String(128), nullable=True),
        sa.Column("risk", sa.Float, nullable=False),
        sa.Column("priority", sa.Integer, nullable=False),
        sa.Column("reasons", sa.JSON, nullable=False),
        sa.Column("evidence", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        _ts("created_at"),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("target_url", sa.String(1024), nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        _ts("next_attempt_at"),
        sa.Column("last_status_code", sa.Integer, nullable=True),
        sa.Column("last_error", sa.String(512), nullable=True),
        _ts("created_at"),
        _ts("delivered_at", nullable=True),
    )
    op.create_index(
        "ix_webhook_deliveries_due", "webhook_deliveries", ["status", "next_attempt_at"]
    )


def downgrade() -> None:
    for table in (
        "webhook_deliveries",
        "escalations",
        "message_decisions",
        "conversations",
        "account_risk",
        "account_media_matches",
        "account_signals",
        "contact_events",
        "api_keys",
        "contact_permissions",
        "connections",
        "accounts",
    ):
        op.drop_table(table)
