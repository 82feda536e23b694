"""PostgreSQL: the check that makes a batch's one-statement write all or nothing.

A batch decided without row locks is written by one statement that updates each
conversation only at the version it read; ``safeguard_all_written`` then fails
the statement (and so undoes all of it) when a conversation had moved on.
SQLite takes its write lock instead and needs no function.

Revision ID: 0006_store_check
Revises: 0005_conversation_version
"""

from __future__ import annotations

from alembic import op

revision = "0006_store_check"
down_revision = "0005_conversation_version"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE OR REPLACE FUNCTION safeguard_all_written(expected integer, written bigint)
        RETURNS bigint LANGUAGE plpgsql AS $$
        BEGIN
            IF written <> expected THEN
                RAISE EXCEPTION 'a conversation changed after the batch read it'
                    USING ERRCODE = 'SG409';
            END IF;
            RETURN written;
        END $$
        """
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS safeguard_all_written(integer, bigint)")
