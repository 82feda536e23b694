"""Cases, the evidence and audit chain, console users and sessions.

Revision ID: 0003_cases
Revises: 0002_service
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_cases"
down_revision = "0002_service"
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("escalation_id", sa.String(64), nullable=True, unique=True),
        sa.Column("subject_account_id", sa.String(128), nullable=False, index=True),
        sa.Column("recipient_ids", sa.JSON, nullable=False),
        sa.Column("conversation_id", sa.String(128), nullable=True),
        sa.Column("message_id", sa.String(128), nullable=True),
        sa.Column("target_type", sa.String(16), nullable=True),
        sa.Column("reporter_id", sa.String(128), nullable=True),
        sa.Column("reason", sa.String(64), nullable=True),
        sa.Column("details", sa.Text, nullable=True),
        sa.Column("appeal_of", sa.String(64), nullable=True),
        sa.Column("surface", sa.String(16), nullable=False),
        sa.Column("child_involved", sa.Boolean, nullable=False),
        sa.Column("risk", sa.Float, nullable=False),
        sa.Column("categories", sa.JSON, nullable=False),
        sa.Column("assignee", sa.String(128), nullable=True),
        sa.Column("decision", sa.String(32), nullable=True),
        sa.Column("actions", sa.JSON, nullable=False),
        sa.Column("legal_hold", sa.Boolean, nullable=False),
        _ts("created_at"),
        _ts("first_reviewed_at", nullable=True),
        _ts("decided_at", nullable=True),
        _ts("reported_at", nullable=True),
        _ts("purged_at", nullable=True),
    )
    op.create_index("ix_cases_status", "cases", ["status"])
    op.create_index("ix_cases_created", "cases", ["created_at"])
    op.create_table(
        "case_escalations",
        sa.Column("escalation_id", sa.String(64), primary_key=True),
        sa.Column("case_id", sa.String(64), nullable=False, index=True),
        _ts("linked_at"),
    )
    op.create_table(
        "evidence_records",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("case_id", sa.String(64), nullable=True, index=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("action", sa.String(48), nullable=False),
        sa.Column("actor", sa.String(160), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("payload", sa.Text, nullable=True),
        sa.Column("payload_sha256", sa.String(64), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("purged", sa.Boolean, nullable=False),
    )
    head = op.create_table(
        "evidence_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": "0" * 64}])
    op.create_table(
        "console_users",
        sa.Column("username", sa.String(64), primary_key=True),
        sa.Column("password_hash", sa.String(256), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        _ts("created_at"),
    )
    op.create_table(
        "console_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False, index=True),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        _ts("created_at"),
        _ts("expires_at"),
    )


def downgrade() -> None:
    for table in (
        "console_sessions",
        "console_users",
        "evidence_head",
        "evidence_records",
        "case_escalations",
        "cases",
    ):
        op.drop_table(table)
