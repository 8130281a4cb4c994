"""The ledger's database: engines made on first use, and the public read and write sessions.

The constructor does no I/O: the engine, the SQLite file's directory and the tables are made
on first use, so a CLI run that never touches the ledger never opens a database. Other
adapters that keep their own tables beside the ledger's (the queue, the issue-task store)
open their transactions through ``read()`` and ``write()``.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import datetime
from pathlib import Path
from typing import Any, Self

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from bot.adapters.sql_time import utcnow
from bot.core.logs import Redactor

# An execution option that makes SQLite open the transaction with BEGIN IMMEDIATE. A deferred
# transaction that reads and then writes cannot wait for a concurrent writer (SQLite answers
# "database is locked" at once to avoid a deadlock), so every writing transaction takes the
# write lock up front and the busy timeout does the waiting.
_SQLITE_IMMEDIATE = "tierbot_sqlite_immediate"
# Serialises concurrent create_all on PostgreSQL (two workers starting at once).
_PG_DDL_LOCK_KEY = 0x7469_6572_626F_74  # "tierbot"


class Database:
    """One SQLAlchemy database; ``url`` is any SQLAlchemy URL (sqlite, postgresql)."""

    def __init__(
        self,
        url: str,
        *,
        busy_timeout_s: float = 30.0,
        clock: Callable[[], datetime] = utcnow,
        redactor: Redactor | None = None,
    ) -> None:
        self.url = url
        self.redactor = redactor if redactor is not None else Redactor()
        self.clock = clock
        self._busy_timeout_ms = int(busy_timeout_s * 1000)
        self._lock = threading.Lock()
        self._engine: Engine | None = None
        self._writer: Engine | None = None
        # Sessions are safe from many threads: each takes its own pooled connection. An
        # in-memory SQLite database is one connection, so its sessions take turns instead.
        self._turns: AbstractContextManager[Any] = (
            threading.RLock() if _in_memory(url) else nullcontext()
        )

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A writing transaction (SQLite: it holds the write lock from its start)."""
        _, writer = self._engines()
        with self._turns, Session(writer, expire_on_commit=False) as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A reading transaction."""
        reader, _ = self._engines()
        with self._turns, Session(reader) as session, session.begin():
            yield session

    def close(self) -> None:
        """Release pooled connections; the next use opens the database again."""
        with self._lock:
            engine, self._engine, self._writer = self._engine, None, None
        if engine is not None:
            engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _engines(self) -> tuple[Engine, Engine]:
        """(reader, writer), made on first use; the writer takes SQLite's write lock up front."""
        with self._lock:
            if self._engine is None or self._writer is None:
                engine = self._create_engine()
                writer = engine
                if engine.dialect.name == "sqlite":
                    writer = engine.execution_options(**{_SQLITE_IMMEDIATE: True})
                try:
                    _create_tables(writer)
                except BaseException:
                    engine.dispose()
                    raise
                self._engine, self._writer = engine, writer
            return self._engine, self._writer

    def _create_engine(self) -> Engine:
        url = make_url(self.url)
        if url.get_backend_name() != "sqlite":
            return create_engine(url, pool_pre_ping=True)
        database = url.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        if _in_memory(self.url):
            # One connection for every thread, or each thread would see a database of its own.
            engine = create_engine(
                url, poolclass=StaticPool, connect_args={"check_same_thread": False}
            )
        else:
            engine = create_engine(url)
        busy_ms = self._busy_timeout_ms

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            # sqlite3 would BEGIN lazily and skip it for SELECT and DDL; "begin" below does it.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            try:
                # The busy timeout first: switching to WAL itself waits for other writers.
                cursor.execute(f"PRAGMA busy_timeout = {busy_ms:d}")
                _enter_wal(cursor, busy_ms / 1000)
                # In WAL mode NORMAL keeps every committed transaction through a crash of the
                # process (the WAL is written before COMMIT returns) and skips the fsync per
                # commit; only an OS crash or power loss can lose the last commits.
                cursor.execute("PRAGMA synchronous = NORMAL")
                cursor.execute("PRAGMA foreign_keys = ON")
            finally:
                cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            immediate = conn.get_execution_options().get(_SQLITE_IMMEDIATE, False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine


def _enter_wal(cursor: Any, wait_s: float) -> None:
    """Put the database in WAL mode (kept in the file, so usually it already is). Two
    connections opening a new database at once both ask for the switch, which needs the file
    to itself, and SQLite answers "database is locked" at once instead of calling the busy
    handler: so the switch is tried again until the busy timeout has passed."""
    deadline = time.monotonic() + wait_s
    pause = 0.005
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.1)


def _in_memory(url: str) -> bool:
    parsed = make_url(url)
    return parsed.get_backend_name() == "sqlite" and (parsed.database or "") in ("", ":memory:")


def _create_tables(writer: Engine) -> None:
    with writer.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_DDL_LOCK_KEY})
        from bot.migrations import prepare

        prepare(conn)  # a new database gets the newest schema; an old one waits for upgrade
