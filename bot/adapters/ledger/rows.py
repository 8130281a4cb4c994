"""The ledger's read models: plain values handed to the report and the tests, and their mapping."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select

from bot.adapters.ledger.tables import AttemptRowORM, ModelCallORM, TaskRowORM
from bot.ports import CallRecord


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


def attempt_select() -> Select[AttemptRowORM, TaskRowORM]:
    return (
        select(AttemptRowORM, TaskRowORM)
        .join(TaskRowORM, TaskRowORM.id == AttemptRowORM.task_id)
        .order_by(AttemptRowORM.task_id, AttemptRowORM.number, AttemptRowORM.id)
    )


def task_row(row: TaskRowORM) -> TaskRow:
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


def attempt_row(row: AttemptRowORM, task: TaskRowORM) -> AttemptRow:
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


def stored_call(row: ModelCallORM) -> StoredCall:
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
