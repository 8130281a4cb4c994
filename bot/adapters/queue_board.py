"""The operator's view of the embedded queue (``tierbot jobs``): its jobs, newest first, and
running a failed one again."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, or_, select
from sqlalchemy.orm import QueryableAttribute

from bot import metrics
from bot.adapters.ledger import SqlLedger
from bot.adapters.queue_rows import (
    FAILED,
    QUEUED,
    DeliveryORM,
    JobORM,
    storage_errors,
    utcnow,
)
from bot.adapters.queue_sql import SqlQueue
from bot.queue_port import JobQuery, JobRow, NotRetryable

# Characters that end the repository part of a key: #issue, @branch, :delivery (bot/events.py).
KEY_SEPARATORS = ("#", "@", ":")


def repo_filter(
    key: ColumnElement[str] | QueryableAttribute[str], repo: str
) -> ColumnElement[bool]:
    """Keys of ``owner/repo`` (GitHub names are case-insensitive)."""
    lowered = func.lower(key)
    return or_(*(lowered.startswith(repo.lower() + sep, autoescape=True) for sep in KEY_SEPARATORS))


def _state_filter(state: str) -> ColumnElement[bool]:
    if state == "queued":
        return and_(JobORM.state == QUEUED, JobORM.attempts == 0)
    if state == "retrying":
        return and_(JobORM.state == QUEUED, JobORM.attempts > 0)
    if state == "cancelled":
        return false()  # the embedded queue cancels nothing
    return JobORM.state == state


def _state(row: JobORM) -> str:
    return "retrying" if row.state == QUEUED and row.attempts else row.state


def _worker(lease_owner: str | None) -> str:
    """The worker's name without the token of its claim (``host:pid/token``)."""
    return (lease_owner or "").rsplit("/", 1)[0]


def _row(job: JobORM, action: str | None) -> JobRow:
    return JobRow(
        id=job.id,
        state=_state(job),
        key=job.key,
        event=job.event,
        action=action or "",
        delivery_id=job.delivery_id,
        attempts=job.attempts,
        worker=_worker(job.lease_owner),
        created_at=job.created_at,
        error=job.error if job.state == FAILED else "",
    )


class SqlJobBoard:
    def __init__(
        self, queue: SqlQueue, ledger: SqlLedger, *, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self._queue = queue
        self._ledger = ledger
        self._clock = clock

    def stats(self) -> metrics.QueueStats:
        return self._queue.stats()

    def jobs(self, query: JobQuery) -> list[JobRow]:
        stmt: Any = select(JobORM, DeliveryORM.action).outerjoin(
            DeliveryORM, DeliveryORM.delivery_id == JobORM.delivery_id
        )
        if query.states:
            stmt = stmt.where(or_(*(_state_filter(s) for s in query.states)))
        if query.repo:
            stmt = stmt.where(repo_filter(JobORM.key, query.repo))
        stmt = stmt.order_by(JobORM.id.desc()).limit(query.limit)
        with storage_errors(), self._ledger.read() as session:
            return [_row(job, action) for job, action in session.execute(stmt)]

    def retry(self, job_id: int) -> JobRow:
        """Queue a failed job again, its failures forgotten (it gets every retry again)."""
        with storage_errors(), self._ledger.write() as session:
            job = session.get(JobORM, job_id)
            if job is None:
                raise NotRetryable(f"no job {job_id} in the queue")
            if job.state != FAILED:
                raise NotRetryable(
                    f"job {job_id} is {_state(job)}: only a failed job can be retried"
                )
            job.state, job.failures, job.expiries, job.error = QUEUED, 0, 0, ""
            job.run_after, job.finished_at, job.lease_until = self._clock(), None, None
            delivery = session.get(DeliveryORM, job.delivery_id)
            if delivery is not None:
                delivery.status, delivery.error = QUEUED, ""
            return _row(job, delivery.action if delivery else "")
