"""The SQL ledger: tasks, attempts, model calls and check results in SQLite or PostgreSQL.

``SqlLedger`` implements the ``Ledger`` port and the read helpers ``bot.report`` builds on.
The constructor does no I/O: the engine, the SQLite file's directory and the tables are made
on first use, so a CLI run that never touches the ledger never opens a database.

Money is stored as a float of US dollars; ``NULL`` means *unknown* (the provider reported no
usage, or the model has no price), which is never the same as ``0.0``. A call recorded with
the outcome ``"refused"`` was never made, so it costs nothing even when its cost is ``NULL``.
All times are stored in UTC; naive datetimes are refused rather than guessed at.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Engine,
    Float,
    ForeignKey,
    Integer,
    Select,
    String,
    Text,
    case,
    create_engine,
    event,
    func,
    select,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from bot.adapters import holds
from bot.adapters.sql_time import UTCDateTime as UTCDateTime  # the queue's tables use it
from bot.adapters.sql_time import require_aware, utcnow
from bot.config import BudgetSpec
from bot.core.budget import Scope, Spend
from bot.core.types import CheckResult, Outcome, Status, Task
from bot.ports import Admission, CallRecord

REFUSED = "refused"  # CallRecord.outcome of a call the budget stopped before it was made

# An execution option that makes SQLite open the transaction with BEGIN IMMEDIATE. A deferred
# transaction that reads and then writes cannot wait for a concurrent writer (SQLite answers
# "database is locked" at once to avoid a deadlock), so every writing transaction takes the
# write lock up front and the busy timeout does the waiting.
_SQLITE_IMMEDIATE = "tierbot_sqlite_immediate"
# Serialises concurrent create_all on PostgreSQL (two workers starting at once).
_PG_DDL_LOCK_KEY = 0x7469_6572_626F_74  # "tierbot"


class Base(DeclarativeBase):
    pass


class TaskRowORM(Base):
    __tablename__ = "tasks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"), index=True)
    repo: Mapped[str] = mapped_column(String(255), index=True)
    type: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(Text)
    slug: Mapped[str] = mapped_column(String(255))
    text: Mapped[str] = mapped_column(Text)
    start_tier: Mapped[str] = mapped_column(String(64))
    ceiling: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32), default=Status.RUNNING.value)
    reason: Mapped[str] = mapped_column(Text, default="")
    branch: Mapped[str | None] = mapped_column(String(255))
    cost_usd: Mapped[float | None] = mapped_column(Float)
    cost_unknown: Mapped[bool] = mapped_column(Boolean, default=False)
    senior_cost_usd: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AttemptRowORM(Base):
    __tablename__ = "attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    tier: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str | None] = mapped_column(String(32))  # NULL while running
    detail: Mapped[str] = mapped_column(Text, default="")
    commit_sha: Mapped[str | None] = mapped_column(String(64))
    senior_cost_usd: Mapped[float | None] = mapped_column(Float)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ModelCallORM(Base):
    __tablename__ = "model_calls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), index=True)
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("attempts.id"), index=True)
    tier: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(255))
    prompt_tokens: Mapped[int | None] = mapped_column(Integer)
    completion_tokens: Mapped[int | None] = mapped_column(Integer)
    cost_usd: Mapped[float | None] = mapped_column(Float)  # NULL: unknown
    latency_s: Mapped[float] = mapped_column(Float)
    outcome: Mapped[str] = mapped_column(String(32))
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class CheckResultORM(Base):
    __tablename__ = "check_results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id"), index=True)
    command: Mapped[str] = mapped_column(Text)
    exit_code: Mapped[int | None] = mapped_column(Integer)
    passed: Mapped[bool] = mapped_column(Boolean)
    timed_out: Mapped[bool] = mapped_column(Boolean, default=False)
    duration_s: Mapped[float] = mapped_column(Float)
    excerpt: Mapped[str] = mapped_column(Text, default="")


# --- read models: plain values handed to the report and the tests -------------------------


@dataclass(frozen=True)
class TaskRow:
    id: int
    parent_id: int | None
    repo: str
    type: str
    title: str
    slug: str
    text: str
    start_tier: str
    ceiling: str
    status: str
    reason: str
    branch: str | None
    cost_usd: float | None
    cost_unknown: bool
    senior_cost_usd: float | None
    created_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True)
class AttemptRow:
    id: int
    task_id: int
    task_type: str
    start_tier: str
    number: int
    tier: str
    outcome: str | None  # None while the attempt is still running
    detail: str
    commit_sha: str | None
    senior_cost_usd: float | None
    started_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True)
class StoredCall:
    id: int
    task_id: int
    attempt_id: int | None
    created_at: datetime
    record: CallRecord


@dataclass(frozen=True)
class SpendRow:
    """Model calls of one task type at one tier, summed."""

    task_type: str
    tier: str
    calls: int
    refused_calls: int
    prompt_tokens: int  # of the calls that reported usage
    completion_tokens: int
    known_cost_usd: float
    unknown_cost_calls: int  # calls made whose cost is unknown (not included above)


@dataclass(frozen=True)
class ReportRows:
    """Everything the report needs, read in one transaction so the parts agree."""

    tasks: tuple[TaskRow, ...]
    attempts: tuple[AttemptRow, ...]
    spend: tuple[SpendRow, ...]


def _unknown_cost() -> ColumnElement[bool]:
    """SQL: this call was made and its cost is unknown."""
    return (ModelCallORM.cost_usd.is_(None)) & (ModelCallORM.outcome != REFUSED)


class SqlLedger:
    """The ``Ledger`` port on SQLAlchemy; ``url`` is any SQLAlchemy URL (sqlite, postgresql)."""

    def __init__(
        self,
        url: str,
        *,
        busy_timeout_s: float = 30.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.url = url
        self._busy_timeout_ms = int(busy_timeout_s * 1000)
        self._clock = clock
        self._lock = threading.Lock()
        self._engine: Engine | None = None
        self._writer: Engine | None = None

    # --- lifecycle ---------------------------------------------------------------------

    def _engines(self) -> tuple[Engine, Engine]:
        """(reader, writer), made on first use; the writer takes SQLite's write lock up front."""
        with self._lock:
            if self._engine is None or self._writer is None:
                engine = self._create_engine()
                writer = engine
                if engine.dialect.name == "sqlite":
                    writer = engine.execution_options(**{_SQLITE_IMMEDIATE: True})
                try:
                    self._create_tables(writer)
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
                cursor.execute("PRAGMA journal_mode = WAL")
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

    @staticmethod
    def _create_tables(writer: Engine) -> None:
        with writer.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_DDL_LOCK_KEY})
            Base.metadata.create_all(conn, checkfirst=True)
            holds.HoldsBase.metadata.create_all(conn, checkfirst=True)

    def close(self) -> None:
        """Release pooled connections; the next use opens the database again."""
        with self._lock:
            engine, self._engine, self._writer = self._engine, None, None
        if engine is not None:
            engine.dispose()

    def __enter__(self) -> SqlLedger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[Session]:
        _, writer = self._engines()
        with Session(writer, expire_on_commit=False) as session, session.begin():
            yield session

    @contextmanager
    def _read(self) -> Iterator[Session]:
        reader, _ = self._engines()
        with Session(reader) as session, session.begin():
            yield session

    # --- the Ledger port ---------------------------------------------------------------

    def start_task(self, *, repo: str, task: Task, start_tier: str, ceiling: str) -> int:
        row = TaskRowORM(
            parent_id=task.parent_id,
            repo=repo,
            type=task.type,
            title=task.title,
            slug=task.slug,
            text=task.text,
            start_tier=start_tier,
            ceiling=ceiling,
            status=Status.RUNNING.value,
            reason="",
            cost_unknown=False,
            created_at=self._clock(),
        )
        with self._write() as session:
            session.add(row)
            session.flush()
            return row.id

    def start_attempt(self, task_id: int, *, number: int, tier: str) -> int:
        row = AttemptRowORM(
            task_id=task_id, number=number, tier=tier, detail="", started_at=self._clock()
        )
        with self._write() as session:
            session.add(row)
            session.flush()
            return row.id

    def record_call(self, task_id: int, attempt_id: int | None, call: CallRecord) -> None:
        row = ModelCallORM(
            task_id=task_id,
            attempt_id=attempt_id,
            tier=call.tier,
            model=call.model,
            prompt_tokens=call.prompt_tokens,
            completion_tokens=call.completion_tokens,
            cost_usd=call.cost_usd,
            latency_s=call.latency_s,
            outcome=call.outcome,
            error=call.error,
            created_at=self._clock(),
        )
        with self._write() as session:
            session.add(row)

    def record_check(self, attempt_id: int, result: CheckResult) -> None:
        # Only the excerpt is kept: full logs belong to the CI system, not the audit trail.
        row = CheckResultORM(
            attempt_id=attempt_id,
            command=result.command,
            exit_code=result.exit_code,
            passed=result.passed,
            timed_out=result.timed_out,
            duration_s=result.duration_s,
            excerpt=result.excerpt,
        )
        with self._write() as session:
            session.add(row)

    def finish_attempt(
        self,
        attempt_id: int,
        *,
        outcome: Outcome,
        detail: str,
        commit_sha: str | None,
        senior_cost_usd: float | None,
    ) -> None:
        with self._write() as session:
            row = session.get(AttemptRowORM, attempt_id)
            if row is None:
                raise LookupError(f"no attempt with id {attempt_id}")
            row.outcome = Outcome(outcome).value
            row.detail = detail
            row.commit_sha = commit_sha
            row.senior_cost_usd = senior_cost_usd
            row.finished_at = self._clock()

    def finish_task(
        self,
        task_id: int,
        *,
        status: Status,
        reason: str,
        branch: str | None,
        cost_usd: float | None,
        senior_cost_usd: float | None,
    ) -> None:
        with self._write() as session:
            row = session.get(TaskRowORM, task_id)
            if row is None:
                raise LookupError(f"no task with id {task_id}")
            unknown_calls = session.scalar(
                select(func.count())
                .select_from(ModelCallORM)
                .where(ModelCallORM.task_id == task_id, _unknown_cost())
            )
            row.status = Status(status).value
            row.reason = reason
            row.branch = branch
            row.cost_usd = cost_usd
            # The stored cost is a lower bound whenever one of the task's calls is unpriced.
            row.cost_unknown = cost_usd is None or bool(unknown_calls)
            row.senior_cost_usd = senior_cost_usd
            row.finished_at = self._clock()

    def reserve(
        self, scope: Scope, budget: BudgetSpec, worst_usd: float, *, ttl_s: float
    ) -> Admission:
        with self._write() as session:
            return holds.reserve(session, scope, budget, worst_usd, now=self._clock(), ttl_s=ttl_s)

    def settle(self, hold_id: int, charged_usd: float) -> None:
        with self._write() as session:
            holds.settle(session, hold_id, charged_usd, now=self._clock())

    def spent(self, scope: Scope) -> Spend:
        with self._read() as session:
            return holds.spent(session, scope, now=self._clock())

    def spent_since(self, repo: str, since: datetime) -> float:
        """Known spend of ``repo``'s model calls made at or after ``since``, in USD.

        Calls with unknown cost add nothing here: the ledger knows tokens but not prices, so it
        cannot estimate them. A budget check that must be conservative adds its own worst-case
        figure for ``unknown_cost_calls_since(repo, since)`` calls.
        """
        require_aware(since)
        with self._read() as session:
            total = session.scalar(
                select(func.coalesce(func.sum(ModelCallORM.cost_usd), 0.0))
                .join(TaskRowORM, TaskRowORM.id == ModelCallORM.task_id)
                .where(TaskRowORM.repo == repo, ModelCallORM.created_at >= since)
            )
        return float(total or 0.0)

    # --- read helpers ------------------------------------------------------------------

    def unknown_cost_calls_since(self, repo: str, since: datetime) -> int:
        """How many of ``repo``'s calls since ``since`` were made but could not be priced."""
        require_aware(since)
        with self._read() as session:
            count = session.scalar(
                select(func.count())
                .select_from(ModelCallORM)
                .join(TaskRowORM, TaskRowORM.id == ModelCallORM.task_id)
                .where(TaskRowORM.repo == repo, ModelCallORM.created_at >= since, _unknown_cost())
            )
        return int(count or 0)

    def get_task(self, task_id: int) -> TaskRow:
        with self._read() as session:
            row = session.get(TaskRowORM, task_id)
            if row is None:
                raise LookupError(f"no task with id {task_id}")
            return _task_row(row)

    def attempts(self, task_id: int) -> list[AttemptRow]:
        with self._read() as session:
            rows = session.execute(_attempt_select().where(AttemptRowORM.task_id == task_id)).all()
            return [_attempt_row(a, t) for a, t in rows]

    def calls(self, task_id: int) -> list[StoredCall]:
        with self._read() as session:
            rows = session.scalars(
                select(ModelCallORM)
                .where(ModelCallORM.task_id == task_id)
                .order_by(ModelCallORM.id)
            ).all()
            return [_stored_call(r) for r in rows]

    def checks(self, attempt_id: int) -> list[CheckResult]:
        """Check results of an attempt; ``output`` is empty (only the excerpt is stored)."""
        with self._read() as session:
            rows = session.scalars(
                select(CheckResultORM)
                .where(CheckResultORM.attempt_id == attempt_id)
                .order_by(CheckResultORM.id)
            ).all()
            return [
                CheckResult(
                    passed=r.passed,
                    exit_code=r.exit_code,
                    duration_s=r.duration_s,
                    command=r.command,
                    excerpt=r.excerpt,
                    timed_out=r.timed_out,
                )
                for r in rows
            ]

    def report_rows(self, *, repo: str | None = None, since: datetime | None = None) -> ReportRows:
        """Tasks created at or after ``since`` (in ``repo``), with all their attempts and calls.

        The scope is chosen by task so that actual spend and the all-senior counterfactual
        always cover the same work.
        """
        scope = select(TaskRowORM.id)
        if repo is not None:
            scope = scope.where(TaskRowORM.repo == repo)
        if since is not None:
            require_aware(since)
            scope = scope.where(TaskRowORM.created_at >= since)
        in_scope = scope.scalar_subquery()

        made = ModelCallORM.outcome != REFUSED
        spend_q = (
            select(
                TaskRowORM.type,
                ModelCallORM.tier,
                func.count(),
                func.sum(case((made, 0), else_=1)),
                func.coalesce(func.sum(ModelCallORM.prompt_tokens), 0),
                func.coalesce(func.sum(ModelCallORM.completion_tokens), 0),
                func.coalesce(func.sum(ModelCallORM.cost_usd), 0.0),
                func.sum(case((_unknown_cost(), 1), else_=0)),
            )
            .join(TaskRowORM, TaskRowORM.id == ModelCallORM.task_id)
            .where(ModelCallORM.task_id.in_(in_scope))
            .group_by(TaskRowORM.type, ModelCallORM.tier)
            .order_by(TaskRowORM.type, ModelCallORM.tier)
        )
        with self._read() as session:
            tasks = session.scalars(
                select(TaskRowORM).where(TaskRowORM.id.in_(in_scope)).order_by(TaskRowORM.id)
            ).all()
            attempts = session.execute(
                _attempt_select().where(AttemptRowORM.task_id.in_(in_scope))
            ).all()
            spend = session.execute(spend_q).all()
            return ReportRows(
                tasks=tuple(_task_row(t) for t in tasks),
                attempts=tuple(_attempt_row(a, t) for a, t in attempts),
                spend=tuple(
                    SpendRow(
                        task_type=task_type,
                        tier=tier,
                        calls=int(calls),
                        refused_calls=int(refused or 0),
                        prompt_tokens=int(p_tokens),
                        completion_tokens=int(c_tokens),
                        known_cost_usd=float(cost),
                        unknown_cost_calls=int(unknown or 0),
                    )
                    for task_type, tier, calls, refused, p_tokens, c_tokens, cost, unknown in spend
                ),
            )


def _attempt_select() -> Select[AttemptRowORM, TaskRowORM]:
    return (
        select(AttemptRowORM, TaskRowORM)
        .join(TaskRowORM, TaskRowORM.id == AttemptRowORM.task_id)
        .order_by(AttemptRowORM.task_id, AttemptRowORM.number, AttemptRowORM.id)
    )


def _task_row(row: TaskRowORM) -> TaskRow:
    return TaskRow(
        id=row.id,
        parent_id=row.parent_id,
        repo=row.repo,
        type=row.type,
        title=row.title,
        slug=row.slug,
        text=row.text,
        start_tier=row.start_tier,
        ceiling=row.ceiling,
        status=row.status,
        reason=row.reason,
        branch=row.branch,
        cost_usd=row.cost_usd,
        cost_unknown=row.cost_unknown,
        senior_cost_usd=row.senior_cost_usd,
        created_at=row.created_at,
        finished_at=row.finished_at,
    )


def _attempt_row(row: AttemptRowORM, task: TaskRowORM) -> AttemptRow:
    return AttemptRow(
        id=row.id,
        task_id=row.task_id,
        task_type=task.type,
        start_tier=task.start_tier,
        number=row.number,
        tier=row.tier,
        outcome=row.outcome,
        detail=row.detail,
        commit_sha=row.commit_sha,
        senior_cost_usd=row.senior_cost_usd,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )


def _stored_call(row: ModelCallORM) -> StoredCall:
    return StoredCall(
        id=row.id,
        task_id=row.task_id,
        attempt_id=row.attempt_id,
        created_at=row.created_at,
        record=CallRecord(
            tier=row.tier,
            model=row.model,
            prompt_tokens=row.prompt_tokens,
            completion_tokens=row.completion_tokens,
            cost_usd=row.cost_usd,
            latency_s=row.latency_s,
            outcome=row.outcome,
            error=row.error,
        ),
    )
