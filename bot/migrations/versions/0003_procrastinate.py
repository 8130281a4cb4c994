"""The procrastinate job queue's schema, on PostgreSQL only (SQLite keeps the embedded queue).

procrastinate ships its schema and its migrations as SQL; a later procrastinate upgrade gets a
revision here that runs that release's migration files, so ``tierbot db upgrade`` stays the one
command an operator runs.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    from procrastinate.schema import SchemaManager

    # The driver reads % as a placeholder; the schema has no parameters, only literal signs.
    bind.exec_driver_sql(SchemaManager.get_schema().replace("%", "%%"))


def downgrade() -> None:
    raise NotImplementedError("procrastinate's schema is not removed by a downgrade")
