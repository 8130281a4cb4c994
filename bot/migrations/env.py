"""Alembic's entry point: run the migrations on the connection ``bot.migrations`` hands over."""

from __future__ import annotations

from alembic import context

from bot.migrations import target_metadata

config = context.config
connection = config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=target_metadata(),
    # SQLite cannot ALTER most things: batch mode copies the table instead.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
