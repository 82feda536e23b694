"""Conversation state version: the optimistic check of the message engine.

Revision ID: 0005_conversation_version
Revises: 0002_service
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_conversation_version"
down_revision = "0002_service"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "conversations", sa.Column("version", sa.Integer, nullable=False, server_default=sa.text("0"))
    )


def downgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("version")
