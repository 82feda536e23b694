"""Stream workers: idempotency records of media events.

Revision ID: 0004_stream
Revises: 0000_base
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_stream"
down_revision = "0000_base"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stream_media_decisions",
        sa.Column("event_id", sa.String(128), primary_key=True),
        sa.Column("decision", sa.JSON, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("stream_media_decisions")
