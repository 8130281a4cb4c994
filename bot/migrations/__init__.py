"""Schema migrations (Alembic) of the ledger and queue tables; the check that a schema is current.

A new database is made at the newest revision on first use (SQLite: ``create_all`` and a stamp,
PostgreSQL: the migrations themselves, under the ledger's DDL lock). A database made before
migrations existed (tierbot 0.1.0, ``create_all`` only) has our tables but no
``alembic_version``: it is at the baseline revision, and ``tierbot db upgrade`` stamps it so
before upgrading. ``serve`` and ``worker`` refuse to start on a schema that is behind.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, MetaData, create_engine, inspect, text
from sqlalchemy.engine import make_url

if TYPE_CHECKING:
    from alembic.config import Config

BASELINE = "0001"  # the schema tierbot 0.1.0 made with create_all
HEAD = "0005"  # a test checks that this is the head of versions/
VERSION_TABLE = "alembic_version"
# Every table some revision of tierbot made; one of them present means "not an empty database".
KNOWN_TABLES = frozenset(
    {
        "tasks",
        "attempts",
        "model_calls",
        "check_results",
        "deliveries",
        "jobs",
        "issue_tasks",
        "refusals",
        "budget_holds",
    }
)
UPGRADE_COMMAND = "tierbot db upgrade"
# Serialises migrations against each other and the ledger's first-use create (same key).
_PG_DDL_LOCK_KEY = 0x7469_6572_626F_74


class SchemaBehind(Exception):
    """The database schema is older than this tierbot (or newer: a downgrade of tierbot)."""


@dataclass(frozen=True)
class SchemaState:
    current: str | None  # None: an empty database
    head: str

    @property
    def usable(self) -> bool:
        return self.current in (None, self.head)


def target_metadata() -> list[MetaData]:
    """The metadata of every table the migrations manage, as the models declare it now."""
    from bot.adapters import github_tasks, holds, ledger, queue_sql

    del github_tasks, queue_sql  # imported for their tables, which register on ledger.Base
    return [ledger.Base.metadata, holds.HoldsBase.metadata]


def current_revision(conn: Connection) -> str | None:
    """The revision of the schema on ``conn``; None for a database without our tables."""
    names = set(inspect(conn).get_table_names())
    if VERSION_TABLE in names:
        row = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).first()
        if row is not None:
            return str(row[0])
    return BASELINE if names & KNOWN_TABLES else None


def prepare(conn: Connection) -> None:
    """On a database without our tables, make the newest schema; else change nothing.

    Called in the ledger's first transaction (which holds the DDL lock on PostgreSQL).
    """
    if current_revision(conn) is not None:
        # An existing database: tables a release added since are created as before, but only
        # ``tierbot db upgrade`` changes an existing table (serve and worker check first).
        for metadata in target_metadata():
            metadata.create_all(conn, checkfirst=True)
        return
    if conn.dialect.name == "postgresql":
        _upgrade(conn)  # the PostgreSQL queue's tables come from a migration, not the models
        return
    for metadata in target_metadata():
        metadata.create_all(conn)
    conn.execute(text(f"CREATE TABLE {VERSION_TABLE} (version_num VARCHAR(32) PRIMARY KEY)"))
    conn.execute(text(f"INSERT INTO {VERSION_TABLE} (version_num) VALUES (:v)"), {"v": HEAD})


def state(url: str) -> SchemaState:
    with _connection(url, lock=False) as conn:
        return SchemaState(current_revision(conn), HEAD)


def require_current(url: str) -> None:
    """Raise ``SchemaBehind`` naming the command to run unless the schema is usable as is."""
    found = state(url)
    if found.usable:
        return
    raise SchemaBehind(
        f"the database schema is at revision {found.current}, this tierbot needs {found.head}: "
        f"run `{UPGRADE_COMMAND}` (with the same TIERBOT_DB_URL) first"
    )


def upgrade(url: str) -> tuple[str | None, str]:
    """Bring the database to the newest revision; returns (revision before, revision after)."""
    with _connection(url, lock=True) as conn:
        before = current_revision(conn)
        if before is None:
            prepare(conn)
        else:
            _upgrade(conn)
        after = current_revision(conn)
    return before, after or HEAD


def _upgrade(conn: Connection) -> None:
    from alembic import command

    config = _config(conn)
    if VERSION_TABLE not in inspect(conn).get_table_names() and current_revision(conn):
        command.stamp(config, BASELINE)  # made by create_all before migrations existed
    command.upgrade(config, "head")


def _config(conn: Connection) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "bot:migrations")
    config.attributes["connection"] = conn
    return config


@contextmanager
def _connection(url: str, *, lock: bool) -> Iterator[Connection]:
    engine = create_engine(make_url(url), poolclass=_null_pool())
    try:
        with engine.begin() as conn:
            if lock and conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_DDL_LOCK_KEY})
            yield conn
    finally:
        engine.dispose()


def _null_pool() -> Any:
    from sqlalchemy.pool import NullPool

    return NullPool
