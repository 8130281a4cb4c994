"""The SQL ledger: tasks, attempts, model calls and check results in SQLite or PostgreSQL.

``SqlLedger`` implements the ``Ledger`` port (an append-only recorder of what the engine did)
and the ``Budgets`` port, over the read queries ``bot.report`` builds on.

Money is stored as a float of US dollars; ``NULL`` means *unknown* (the provider reported no
usage, or the model has no price), which is never the same as ``0.0``. A call recorded with
the outcome ``"refused"`` was never made, so it costs nothing even when its cost is ``NULL``.
All times are stored in UTC; naive datetimes are refused rather than guessed at. Every text
column written here (task text, reasons, details, call errors, check excerpts) passes the
``redactor`` the edge built, so no row holds a secret value of the process.
"""

from __future__ import annotations

from sqlalchemy import func, or_, select

from bot.adapters import holds
from bot.adapters.ledger.queries import LedgerQueries
from bot.adapters.ledger.tables import (
    AttemptRowORM,
    CheckResultORM,
    ModelCallORM,
    TaskRowORM,
    unknown_cost,
)
from bot.core.budget import Scope, Spend
from bot.core.types import CheckResult, Outcome, Status, Task
from bot.ports import Admission, CallRecord
from bot.spec import BudgetSpec


class SqlLedger(LedgerQueries):
    """The ``Ledger`` and ``Budgets`` ports on SQLAlchemy."""

    def start_task(self, *, repo: str, task: Task, start_tier: str, ceiling: str) -> int:
        row = TaskRowORM(
            parent_id=task.parent_id,
            repo=repo,
            type=task.type,
            title=self.redactor(task.title),
            slug=task.slug,
            text=self.redactor(task.text),
            start_tier=start_tier,
            ceiling=ceiling,
            status=Status.RUNNING.value,
            reason="",
            cost_unknown=False,
            created_at=self.clock(),
        )
        with self.write() as session:
            session.add(row)
            session.flush()
            return row.id

    def start_attempt(self, task_id: int, *, number: int, tier: str) -> int:
        row = AttemptRowORM(
            task_id=task_id, number=number, tier=tier, detail="", started_at=self.clock()
        )
        with self.write() as session:
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
            error=self.redactor(call.error),
            created_at=self.clock(),
        )
        with self.write() as session:
            session.add(row)

    def record_check(self, attempt_id: int, result: CheckResult) -> None:
        # Only the excerpt is kept: full logs belong to the CI system, not the audit trail.
        row = CheckResultORM(
            attempt_id=attempt_id,
            command=self.redactor(result.command),
            exit_code=result.exit_code,
            passed=result.passed,
            timed_out=result.timed_out,
            duration_s=result.duration_s,
            excerpt=self.redactor(result.excerpt),
        )
        with self.write() as session:
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
        with self.write() as session:
            row = session.get(AttemptRowORM, attempt_id)
            if row is None:
                raise LookupError(f"no attempt with id {attempt_id}")
            row.outcome = Outcome(outcome).value
            row.detail = self.redactor(detail)
            row.commit_sha = commit_sha
            row.senior_cost_usd = senior_cost_usd
            row.finished_at = self.clock()

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
        with self.write() as session:
            row = session.get(TaskRowORM, task_id)
            if row is None:
                raise LookupError(f"no task with id {task_id}")
            unknown_calls = session.scalar(
                select(func.count())
                .select_from(ModelCallORM)
                .where(ModelCallORM.task_id == task_id, unknown_cost())
            )
            row.status = Status(status).value
            row.reason = self.redactor(reason)
            row.branch = branch
            row.cost_usd = cost_usd
            # The stored cost is a lower bound whenever one of the task's calls is unpriced.
            row.cost_unknown = cost_usd is None or bool(unknown_calls)
            row.senior_cost_usd = senior_cost_usd
            row.finished_at = self.clock()

    def reserve(
        self, scope: Scope, budget: BudgetSpec, worst_usd: float, *, ttl_s: float
    ) -> Admission:
        with self.write() as session:
            return holds.reserve(session, scope, budget, worst_usd, now=self.clock(), ttl_s=ttl_s)

    def settle(self, hold_id: int, charged_usd: float) -> None:
        with self.write() as session:
            holds.settle(session, hold_id, charged_usd, now=self.clock())

    def spent(self, scope: Scope) -> Spend:
        with self.read() as session:
            return holds.spent(session, scope, now=self.clock())

    def interrupt_unfinished(
        self, *, repo: str, slug: str, keep_task: int | None, keep_attempt: int | None
    ) -> int:
        now = self.clock()
        with self.write() as session:
            tasks = session.scalars(
                select(TaskRowORM).where(
                    TaskRowORM.repo == repo,
                    TaskRowORM.slug == slug,
                    or_(TaskRowORM.status == Status.RUNNING.value, TaskRowORM.id == keep_task),
                )
            ).all()
            finished = 0
            for task in tasks:
                if task.id != keep_task:
                    task.status, task.finished_at = Status.INTERRUPTED.value, now
                    task.reason = "its worker stopped before it finished; a new task replaced it"
                    finished += 1
            attempts = session.scalars(
                select(AttemptRowORM).where(
                    AttemptRowORM.task_id.in_([t.id for t in tasks]),
                    AttemptRowORM.outcome.is_(None),
                    AttemptRowORM.id != (keep_attempt or -1),
                )
            ).all()
            for attempt in attempts:
                attempt.outcome, attempt.finished_at = Outcome.INTERRUPTED.value, now
                attempt.detail = "its worker stopped before the attempt ended"
            return finished + len(attempts)
