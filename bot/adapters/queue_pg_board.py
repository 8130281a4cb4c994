"""The operator's view of the jobs on procrastinate (``tierbot jobs``, PostgreSQL).

A job's state and attempts are procrastinate's; its action, worker and error are its delivery's
(``deliveries``, joined on the delivery id the job was deferred with); its creation and its
runs are procrastinate's ``deferred`` and ``started`` events. A failed job is run again through
procrastinate's own retry.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import psycopg
from procrastinate import exceptions
from sqlalchemy import ColumnElement, String, and_, cast, column, func, or_, select, table, update
from sqlalchemy.dialects.postgresql import JSONB

from bot import metrics
from bot.adapters.ledger import SqlLedger
from bot.adapters.queue_board import repo_filter
from bot.adapters.queue_procrastinate import QUEUE, make_app
from bot.adapters.queue_rows import (
    QUEUED,
    DeliveryORM,
    QueueUnavailable,
    first_line,
    storage_errors,
)
from bot.queue_port import JobQuery, JobRow, NotRetryable, job_state

_jobs = table(
    "procrastinate_jobs",
    column("id"),
    column("queue_name"),
    column("lock", String),
    column("args", JSONB),
    column("status"),
)
_events = table("procrastinate_events", column("job_id"), column("type"), column("at"))
_status = cast(_jobs.c.status, String)
_delivery_id = _jobs.c.args["delivery_id"].astext
_STATUSES = {
    "running": ("doing",),
    "done": ("succeeded",),
    "failed": ("failed",),
    "cancelled": ("cancelled", "aborting", "aborted"),
}


def _events_of_job(kind: str, value: Any) -> Any:
    return (
        select(value)
        .where(_events.c.job_id == _jobs.c.id, cast(_events.c.type, String) == kind)
        .scalar_subquery()
    )


_runs = _events_of_job("started", func.count())  # runs started: todo -> doing


def _state_filter(state: str) -> ColumnElement[bool]:
    if state == "queued":
        return and_(_status == "todo", _runs == 0)
    if state == "retrying":
        return and_(_status == "todo", _runs > 0)
    return _status.in_(_STATUSES[state])


def _listing() -> Any:
    return (
        select(
            _jobs.c.id,
            _status,
            _jobs.c.lock,
            _runs,
            _delivery_id,
            _jobs.c.args["event"].astext,
            DeliveryORM.action,
            DeliveryORM.worker,
            DeliveryORM.error,
            func.coalesce(
                _events_of_job("deferred", func.min(_events.c.at)), DeliveryORM.received_at
            ),
        )
        .outerjoin(DeliveryORM, DeliveryORM.delivery_id == _delivery_id)
        .where(_jobs.c.queue_name == QUEUE)
    )


def _row(values: Any) -> JobRow:
    job_id, status, key, runs, delivery_id, event, action, worker, error, created = values
    state = job_state(status)
    if state == "queued" and runs:
        state = "retrying"
    return JobRow(
        id=int(job_id),
        state=state,
        key=key or "",
        event=event or "",
        action=action or "",
        delivery_id=delivery_id or "",
        attempts=int(runs),
        worker=worker or "",
        created_at=created,
        error=(error or "") if state == "failed" else "",
    )


class ProcrastinateJobBoard:
    def __init__(
        self,
        ledger: SqlLedger,
        stats: Callable[[], metrics.QueueStats],
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._ledger = ledger
        self._stats = stats
        self._clock = clock or (lambda: datetime.now(UTC))

    def stats(self) -> metrics.QueueStats:
        return self._stats()

    def jobs(self, query: JobQuery) -> list[JobRow]:
        stmt = _listing()
        if query.states:
            stmt = stmt.where(or_(*(_state_filter(s) for s in query.states)))
        if query.repo:
            stmt = stmt.where(repo_filter(_jobs.c.lock, query.repo))
        stmt = stmt.order_by(_jobs.c.id.desc()).limit(query.limit)
        with storage_errors(), self._ledger.read() as session:
            return [_row(values) for values in session.execute(stmt)]

    def _job(self, job_id: int) -> JobRow | None:
        with storage_errors(), self._ledger.read() as session:
            found = session.execute(_listing().where(_jobs.c.id == job_id)).first()
        return _row(found) if found is not None else None

    def retry(self, job_id: int) -> JobRow:
        """Queue a failed job again through procrastinate; its delivery is queued again."""
        job = self._job(job_id)
        if job is None:
            raise NotRetryable(f"no job {job_id} in the queue")
        if job.state != "failed":
            raise NotRetryable(f"job {job_id} is {job.state}: only a failed job can be retried")
        app = make_app(self._ledger.url)
        # The delivery's row stays locked until the job is queued: a worker that takes the job
        # at once records its outcome after this, not before.
        with storage_errors(), self._ledger.write() as session:
            session.execute(
                update(DeliveryORM)
                .where(DeliveryORM.delivery_id == job.delivery_id)
                .values(status=QUEUED, error="")
            )
            try:
                with app.open():
                    app.job_manager.retry_job_by_id(job_id, retry_at=self._clock())
            except exceptions.ConnectorException as exc:
                if isinstance(exc.__cause__, psycopg.errors.RaiseException):  # retried meanwhile
                    raise NotRetryable(f"job {job_id} is no longer failed") from None
                raise QueueUnavailable(f"database unavailable: {first_line(exc)}") from exc
        found = self._job(job_id)
        return found if found is not None else job
