"""The ledger's read queries: spend since a time, one task's rows, and the report's rows."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func, select

from bot.adapters.ledger.database import Database
from bot.adapters.ledger.rows import (
    AttemptRow,
    ReportRows,
    SpendRow,
    StoredCall,
    TaskRow,
    attempt_row,
    attempt_select,
    stored_call,
    task_row,
)
from bot.adapters.ledger.tables import (
    REFUSED,
    AttemptRowORM,
    CheckResultORM,
    ModelCallORM,
    TaskRowORM,
    unknown_cost,
)
from bot.adapters.sql_time import require_aware
from bot.core.calibration import TaskOutcome
from bot.core.types import CheckResult


class LedgerQueries(Database):
    """Reads of the ledger's tables; every read is one transaction."""

    def spent_since(self, repo: str, since: datetime) -> float:
        """Known spend of ``repo``'s model calls made at or after ``since``, in USD.

        Calls with unknown cost add nothing here: the ledger knows tokens but not prices, so it
        cannot estimate them. A budget check that must be conservative adds its own worst-case
        figure for ``unknown_cost_calls_since(repo, since)`` calls.
        """
        require_aware(since)
        with self.read() as session:
            total = session.scalar(
                select(func.coalesce(func.sum(ModelCallORM.cost_usd), 0.0))
                .join(TaskRowORM, TaskRowORM.id == ModelCallORM.task_id)
                .where(TaskRowORM.repo == repo, ModelCallORM.created_at >= since)
            )
        return float(total or 0.0)

    def task_outcomes(self, repo: str, task_type: str) -> tuple[TaskOutcome, ...]:
        """Ended tasks of one type in ``repo``, for ``routing: adaptive``."""
        from bot.adapters.ledger_audit import task_outcomes

        return task_outcomes(self, repo=repo, task_type=task_type)

    def unknown_cost_calls_since(self, repo: str, since: datetime) -> int:
        """How many of ``repo``'s calls since ``since`` were made but could not be priced."""
        require_aware(since)
        with self.read() as session:
            count = session.scalar(
                select(func.count())
                .select_from(ModelCallORM)
                .join(TaskRowORM, TaskRowORM.id == ModelCallORM.task_id)
                .where(TaskRowORM.repo == repo, ModelCallORM.created_at >= since, unknown_cost())
            )
        return int(count or 0)

    def get_task(self, task_id: int) -> TaskRow:
        with self.read() as session:
            row = session.get(TaskRowORM, task_id)
            if row is None:
                raise LookupError(f"no task with id {task_id}")
            return task_row(row)

    def attempts(self, task_id: int) -> list[AttemptRow]:
        with self.read() as session:
            rows = session.execute(attempt_select().where(AttemptRowORM.task_id == task_id)).all()
            return [attempt_row(a, t) for a, t in rows]

    def calls(self, task_id: int) -> list[StoredCall]:
        with self.read() as session:
            rows = session.scalars(
                select(ModelCallORM)
                .where(ModelCallORM.task_id == task_id)
                .order_by(ModelCallORM.id)
            ).all()
            return [stored_call(r) for r in rows]

    def checks(self, attempt_id: int) -> list[CheckResult]:
        """Check results of an attempt; ``output`` is empty (only the excerpt is stored)."""
        with self.read() as session:
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
                func.sum(case((unknown_cost(), 1), else_=0)),
            )
            .join(TaskRowORM, TaskRowORM.id == ModelCallORM.task_id)
            .where(ModelCallORM.task_id.in_(in_scope))
            .group_by(TaskRowORM.type, ModelCallORM.tier)
            .order_by(TaskRowORM.type, ModelCallORM.tier)
        )
        with self.read() as session:
            tasks = session.scalars(
                select(TaskRowORM).where(TaskRowORM.id.in_(in_scope)).order_by(TaskRowORM.id)
            ).all()
            attempts = session.execute(
                attempt_select().where(AttemptRowORM.task_id.in_(in_scope))
            ).all()
            spend = session.execute(spend_q).all()
            return ReportRows(
                tasks=tuple(task_row(t) for t in tasks),
                attempts=tuple(attempt_row(a, t) for a, t in attempts),
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
