"""Media: named hash banks and their entries (PDQ, MD5, SHA-256, vPDQ, URLs).

Revision ID: 0001_media
Revises: 0000_base
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_media"
down_revision = "0000_base"
branch_labels = ("media",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "media_banks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "media_bank_entries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "bank_id",
            sa.Integer,
            sa.ForeignKey("media_banks.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("signal_type", sa.String(16), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("lookup", sa.String(300), nullable=False),
        sa.Column("category", sa.String(128), nullable=False, server_default=""),
        sa.Column("source", sa.String(256), nullable=False, server_default=""),
        sa.Column("external_id", sa.String(256), nullable=False, server_default=""),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint(
            "bank_id", "signal_type", "lookup", "source", "external_id", name="uq_media_entry"
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_media_entries_lookup", "media_bank_entries", ["signal_type", "lookup"])
    op.create_index("ix_media_entries_bank_type", "media_bank_entries", ["bank_id", "signal_type", "id"])


def downgrade() -> None:
    op.drop_index("ix_media_entries_bank_type", table_name="media_bank_entries")
    op.drop_index("ix_media_entries_lookup", table_name="media_bank_entries")
    op.drop_table("media_bank_entries")
    op.drop_table("media_banks")
