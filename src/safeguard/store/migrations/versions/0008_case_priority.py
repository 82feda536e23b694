"""Cases keep their priority without its recency term, so the queue ranks in SQL.

``priority_base`` is ``cases.priority.base_priority`` of the case's risk, child
involvement and categories; the queue adds the recency term (which depends on
the time of the request) in its ``ORDER BY``. Existing rows are filled in here.

Revision ID: 0008_case_priority
Revises: 0003_cases
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

from safeguard.cases.priority import base_priority

revision = "0008_case_priority"
down_revision = "0003_cases"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("priority_base", sa.Float, nullable=False, server_default=sa.text("0")))
    connection = op.get_bind()
    cases = sa.table(
        "cases",
        sa.column("id", sa.String),
        sa.column("risk", sa.Float),
        sa.column("child_involved", sa.Boolean),
        sa.column("categories", sa.Text),
        sa.column("priority_base", sa.Float),
    )
    rows = connection.execute(
        sa.select(cases.c.id, cases.c.risk, cases.c.child_involved, sa.cast(cases.c.categories, sa.Text))
    ).all()
    updates = [
        {
            "case_id": case_id,
            "base": base_priority(
                risk=float(risk or 0.0), child_involved=bool(child), categories=json.loads(categories or "[]")
            ),
        }
        for case_id, risk, child, categories in rows
    ]
    if updates:
        stmt = cases.update().where(cases.c.id == sa.bindparam("case_id"))
        connection.execute(stmt.values(priority_base=sa.bindparam("base")), updates)


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("priority_base")
