"""Read queries for the audit (report, dashboard, calibration) over the SQL ledger.

Everything here reads through ``SqlLedger.read()`` and returns the ledger's own plain row
values, so the audit's arithmetic (``bot/audit/``, ``bot/core/calibration.py``) stays pure.
The scope is chosen by task: a task created in ``[since, until)`` comes with all of its
attempts and calls, and a feature with all of its subtasks (whenever each started), so spend,
the all-senior counterfactual and a feature's split always describe the same work.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol, runtime_checkable

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, aliased

from bot.adapters.ledger import (
    AttemptRow,
    AttemptRowORM,
    ModelCallORM,
    StoredCall,
    TaskRow,
    TaskRowORM,
)
from bot.adapters.ledger.rows import attempt_row, stored_call, task_row
from bot.adapters.sql_time import require_aware
from bot.core.calibration import TaskOutcome
from bot.core.types import Status


@runtime_checkable
class LedgerReader(Protocol):
    """A ledger these queries can read: ``SqlLedger``, or a wrapper that passes reads through."""

    def read(self) -> AbstractContextManager[Session]: ...


@dataclass(frozen=True)
class AuditRows:
    """Tasks in scope with all their attempts and calls, read in one transaction."""

    tasks: tuple[TaskRow, ...]
    attempts: tuple[AttemptRow, ...]
    calls: tuple[StoredCall, ...]


def ledger_exists(url: str) -> bool:
    """False for a SQLite file that is not there: reading it would create an empty ledger."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return True
    database = parsed.database or ""
    if not database or database == ":memory:" or database.startswith("file:"):
        return True
    return Path(database).expanduser().is_file()


def _task_scope(repo: str | None, since: datetime | None, until: datetime | None) -> Select[int]:
    """Tasks created in the window; a subtask goes with its feature, whenever it started."""
    parent = aliased(TaskRowORM)
    own: list[ColumnElement[bool]] = [TaskRowORM.parent_id.is_(None)]
    features = select(parent.id)
    if since is not None:
        own.append(TaskRowORM.created_at >= require_aware(since))
        features = features.where(parent.created_at >= require_aware(since))
    if until is not None:
        own.append(TaskRowORM.created_at < require_aware(until))
        features = features.where(parent.created_at < require_aware(until))
    scope = select(TaskRowORM.id).where(or_(and_(*own), TaskRowORM.parent_id.in_(features)))
    if repo is not None:
        scope = scope.where(TaskRowORM.repo == repo)
    return scope


def audit_rows(
    ledger: LedgerReader,
    *,
    repo: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> AuditRows:
    """Tasks created in ``[since, until)`` (in ``repo``), with all their attempts and calls."""
    in_scope = _task_scope(repo, since, until).scalar_subquery()
    with ledger.read() as session:
        tasks = session.scalars(
            select(TaskRowORM).where(TaskRowORM.id.in_(in_scope)).order_by(TaskRowORM.id)
        ).all()
        by_id = {t.id: t for t in tasks}
        attempts = session.scalars(
            select(AttemptRowORM)
            .where(AttemptRowORM.task_id.in_(in_scope))
            .order_by(AttemptRowORM.task_id, AttemptRowORM.number, AttemptRowORM.id)
        ).all()
        calls = session.scalars(
            select(ModelCallORM).where(ModelCallORM.task_id.in_(in_scope)).order_by(ModelCallORM.id)
        ).all()
        return AuditRows(
            tasks=tuple(task_row(t) for t in tasks),
            attempts=tuple(attempt_row(a, by_id[a.task_id]) for a in attempts),
            calls=tuple(stored_call(c) for c in calls),
        )


ENDED = (Status.DONE.value, Status.NEEDS_HUMAN.value, Status.BUDGET_STOP.value)


def task_outcomes(
    ledger: LedgerReader, *, repo: str, task_type: str | None = None
) -> tuple[TaskOutcome, ...]:
    """How each ended task of ``repo`` (of ``task_type``) went: its start tier, whether it
    ended done, and what it cost in all (escalations included). Cancelled and interrupted
    tasks say nothing about a tier and are left out."""
    query = select(
        TaskRowORM.type,
        TaskRowORM.start_tier,
        TaskRowORM.status,
        TaskRowORM.cost_usd,
        TaskRowORM.cost_unknown,
    ).where(TaskRowORM.repo == repo, TaskRowORM.status.in_(ENDED))
    if task_type is not None:
        query = query.where(TaskRowORM.type == task_type)
    with ledger.read() as session:
        rows = session.execute(query.order_by(TaskRowORM.id)).all()
    return tuple(
        TaskOutcome(
            task_type=task_type_,
            start_tier=start,
            done=status == Status.DONE.value,
            cost_usd=None if unknown or cost is None else float(cost),
        )
        for task_type_, start, status, cost, unknown in rows
    )
