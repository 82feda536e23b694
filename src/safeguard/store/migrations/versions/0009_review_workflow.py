"""The review team's console: SLA classes, take-next leases, the context window, console users.

``cases.sla_class`` names the SLA target of a case (``cases.sla.sla_class``) and
``cases.lease_until`` when a case handed out by "take next" returns to the queue.
``conversation_context`` holds the context window of conversations at risk
(``policy.context_window``). Console users can be disabled and keep wellness
settings; a session remembers its current stretch of high-severity review.
Existing cases get their SLA class, and their stored priority is recomputed
(sextortion joined the top tier).

Revision ID: 0009_review_workflow
Revises: 0008_case_priority
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

from safeguard.cases.priority import base_priority, sla_class

revision = "0009_review_workflow"
down_revision = "0008_case_priority"
branch_labels = None
depends_on = None


def _ts(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=True)


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(_ts("lease_until"))
        batch.add_column(
            sa.Column("sla_class", sa.String(24), nullable=False, server_default=sa.text("'standard'"))
        )
    op.create_index("ix_cases_subject_status", "cases", ["subject_account_id", "status"])
    op.create_table(
        "conversation_context",
        sa.Column("conversation_id", sa.String(128), primary_key=True),
        sa.Column("window", sa.JSON, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, index=True),
    )
    with op.batch_alter_table("console_users") as batch:
        batch.add_column(_ts("disabled_at"))
        batch.add_column(sa.Column("wellness", sa.JSON, nullable=True))
    with op.batch_alter_table("console_sessions") as batch:
        batch.add_column(_ts("severe_since"))
        batch.add_column(_ts("severe_last"))
    _fill_cases()


def _fill_cases() -> None:
    connection = op.get_bind()
    cases = sa.table(
        "cases",
        sa.column("id", sa.String),
        sa.column("kind", sa.String),
        sa.column("source", sa.String),
        sa.column("risk", sa.Float),
        sa.column("child_involved", sa.Boolean),
        sa.column("categories", sa.Text),
        sa.column("priority_base", sa.Float),
        sa.column("sla_class", sa.String),
    )
    rows = connection.execute(
        sa.select(
            cases.c.id,
            cases.c.kind,
            cases.c.source,
            cases.c.risk,
            cases.c.child_involved,
            sa.cast(cases.c.categories, sa.Text),
        )
    ).all()
    updates = []
    for case_id, kind, source, risk, child, categories in rows:
        cats = json.loads(categories or "[]")
        updates.append(
            {
                "case_id": case_id,
                "base": base_priority(risk=float(risk or 0.0), child_involved=bool(child), categories=cats),
                "sla": sla_class(kind=kind, source=source, child_involved=bool(child), categories=cats),
            }
        )
    if updates:
        stmt = cases.update().where(cases.c.id == sa.bindparam("case_id"))
        connection.execute(
            stmt.values(priority_base=sa.bindparam("base"), sla_class=sa.bindparam("sla")), updates
        )


def downgrade() -> None:
    with op.batch_alter_table("console_sessions") as batch:
        batch.drop_column("severe_last")
        batch.drop_column("severe_since")
    with op.batch_alter_table("console_users") as batch:
        batch.drop_column("wellness")
        batch.drop_column("disabled_at")
    op.drop_table("conversation_context")
    op.drop_index("ix_cases_subject_status", table_name="cases")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("sla_class")
        batch.drop_column("lease_until")
