"""Script linking: MinHash fingerprints of scripted messages, by LSH band key.

``script_fingerprints`` holds sender, recipient, conversation, time and the
128-value signature (bytes); ``script_bands`` its band keys, indexed for
look-up. No message text is stored.

Revision ID: 0010_script_linking
Revises: 0009_review_workflow
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_script_linking"
down_revision = "0009_review_workflow"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "script_fingerprints",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("sender_id", sa.String(128), nullable=False),
        sa.Column("recipient_id", sa.String(128), nullable=False),
        sa.Column("conversation_id", sa.String(128), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("signature", sa.LargeBinary, nullable=False),
    )
    op.create_index("ix_script_fingerprints_sender_at", "script_fingerprints", ["sender_id", "at"])
    op.create_table(
        "script_bands",
        sa.Column(
            "fingerprint_id",
            sa.Integer,
            sa.ForeignKey("script_fingerprints.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("band_key", sa.BigInteger, primary_key=True),
    )
    op.create_index("ix_script_bands_band_key", "script_bands", ["band_key"])


def downgrade() -> None:
    op.drop_index("ix_script_bands_band_key", table_name="script_bands")
    op.drop_table("script_bands")
    op.drop_index("ix_script_fingerprints_sender_at", table_name="script_fingerprints")
    op.drop_table("script_fingerprints")
