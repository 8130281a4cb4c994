"""An issue's task keeps the decision of ``tierbot:auto`` (its type, reason, source and cost).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("issue_tasks") as batch:
        batch.add_column(sa.Column("triage_json", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("issue_tasks") as batch:
        batch.drop_column("triage_json")
