"""Durable webhook deliveries and jobs with leases, in the ledger database (SQLite or PostgreSQL).

A delivery is stored with its job in one transaction before the webhook is answered. Workers
claim jobs with a lease; a worker that dies mid-job stops renewing it, the lease expires and
another worker takes the job again (at least once; handlers are idempotent and resume). An
expired lease is not a failure: only an exception the worker reports (``fail``) counts towards
``max_attempts``, so a job is never dropped because its workers were killed. Jobs with the same
key (one issue or pull request) run one at a time and in the order they arrived.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from contextlib import suppress
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    and_,
    exists,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import (
    IntegrityError,
)
from sqlalchemy.orm import aliased

from bot import metrics
from bot.adapters.ledger import SqlLedger
from bot.adapters.queue_rows import (
    DONE,
    FAILED,
    IGNORED,
    QUEUED,
    RUNNING,
    Accepted,
    DeliveryORM,
    Incoming,
    Job,
    JobORM,
    other_open_jobs,
    record_deliveries,
    storage_errors,
    utcnow,
)

_PG_CLAIM_LOCK_KEY = 0x7469_6572_716E  # serialises claims on PostgreSQL
# A job whose workers keep dying (it may be what kills them) waits longer before each claim
# after this many expiries in a row, instead of crash-looping every worker; it is never dropped.
EXPIRIES_BEFORE_BACKOFF = 5
MAX_EXPIRY_BACKOFF_S = 3600.0


class SqlQueue:
    def __init__(
        self,
        ledger: SqlLedger,
        *,
        lease_s: float = 60.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._ledger = ledger
        self._lease = timedelta(seconds=lease_s)
        self._clock = clock

    # --- intake ------------------------------------------------------------------------
    def accept(
        self, *, delivery_id: str, event: str, action: str, key: str, payload: dict[str, Any]
    ) -> Accepted:
        """Store a delivery and its job; a redelivery of a failed one is queued again."""
        return self.accept_many([Incoming(delivery_id, event, action, key, payload)])[0]

    def accept_many(self, items: Sequence[Incoming]) -> list[Accepted]:
        """Store a batch of deliveries in one transaction (the intake's group commit).

        Raises ``QueueUnavailable`` or ``Unstorable``; nothing of the batch is stored then.
        """
        with storage_errors():
            try:
                return self._store(items)
            except IntegrityError:
                # A delivery stored by another process between the read and the write: take
                # the batch one by one, so only the racing delivery is reported as a duplicate.
                if len(items) == 1:
                    return [Accepted("duplicate")]
                return [self.accept_many([item])[0] for item in items]

    def _store(self, items: Sequence[Incoming]) -> list[Accepted]:
        now = self._clock()
        with self._ledger.write() as session:
            plan = record_deliveries(session, items, now)
            out: list[Accepted] = [Accepted("duplicate")] * len(items)
            if plan.jobs:
                job_ids = session.scalars(
                    insert(JobORM).returning(JobORM.id, sort_by_parameter_order=True),
                    [params for _, params in plan.jobs],
                ).all()
                for (index, _), job_id in zip(plan.jobs, job_ids, strict=True):
                    out[index] = Accepted("queued", job_id)
            return out

    def ignore(self, *, delivery_id: str, event: str, action: str) -> None:
        """Record a delivery tierbot does not act on, so the log shows it arrived."""
        row = DeliveryORM(
            delivery_id=delivery_id,
            event=event,
            action=action,
            status=IGNORED,
            received_at=self._clock(),
        )
        # suppress: a concurrent copy of the same delivery recorded it first.
        with storage_errors(), suppress(IntegrityError), self._ledger.write() as session:
            if session.get(DeliveryORM, delivery_id) is None:
                session.add(row)

    # --- workers -----------------------------------------------------------------------
    @property
    def lease_s(self) -> float:
        return self._lease.total_seconds()

    def claim(self, worker: str) -> Job | None:
        """Lease the oldest runnable job whose key has no older job still open."""
        now = self._clock()
        with self._ledger.write() as session:
            if session.bind is not None and session.bind.dialect.name == "postgresql":
                session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_CLAIM_LOCK_KEY})
            older = aliased(JobORM)
            # Jobs of one issue run in arrival order: a CI webhook never overtakes the job that
            # is still opening the pull request it reports on, even while that one waits to retry.
            waits_behind = exists().where(
                older.key == JobORM.key, older.id < JobORM.id, older.state.in_((QUEUED, RUNNING))
            )
            candidates = session.scalars(
                select(JobORM)
                .where(
                    or_(
                        and_(JobORM.state == QUEUED, JobORM.run_after <= now),
                        and_(JobORM.state == RUNNING, JobORM.lease_until < now),
                    ),
                    ~waits_behind,
                )
                .order_by(JobORM.id)
                .limit(50)
            ).all()
            for row in candidates:
                if row.state == RUNNING:  # its worker died or lost the lease: not a failure
                    row.expiries += 1
                    delay = self._expiry_backoff(row.expiries)
                    if delay:
                        row.state, row.lease_owner, row.lease_until = QUEUED, None, None
                        row.run_after = now + timedelta(seconds=delay)
                        continue
                owner = f"{worker[:100]}/{uuid.uuid4().hex[:16]}"
                row.state, row.lease_owner = RUNNING, owner
                row.lease_until = now + self._lease
                row.attempts += 1
                return Job(
                    row.id,
                    row.delivery_id,
                    row.event,
                    row.key,
                    json.loads(row.payload),
                    row.attempts,
                    owner,
                    row.failures,
                    row.expiries,
                    row.max_attempts,
                )
        return None

    def _expiry_backoff(self, expiries: int) -> float:
        if expiries <= EXPIRIES_BEFORE_BACKOFF:
            return 0.0
        lease = self._lease.total_seconds()
        return min(MAX_EXPIRY_BACKOFF_S, lease * 2.0 ** (expiries - EXPIRIES_BEFORE_BACKOFF))

    def heartbeat(self, job: Job) -> bool:
        """Extend the lease; False when the job was taken by another worker meanwhile."""
        with self._ledger.write() as session:
            result = session.execute(
                update(JobORM)
                .where(
                    JobORM.id == job.id,
                    JobORM.lease_owner == job.lease_owner,
                    JobORM.state == RUNNING,
                )
                .values(lease_until=self._clock() + self._lease)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def _owned(self, session: Any, job: Job) -> JobORM | None:
        row: JobORM | None = session.get(JobORM, job.id)
        if row is None or row.lease_owner != job.lease_owner or row.state != RUNNING:
            return None  # another claim owns it now: this worker's word no longer counts
        return row

    def complete(self, job: Job) -> None:
        now = self._clock()
        with self._ledger.write() as session:
            row = self._owned(session, job)
            if row is None:
                return
            row.state, row.finished_at, row.lease_until, row.expiries = DONE, now, None, 0
            metrics.job_ran("done")
            delivery = session.get(DeliveryORM, row.delivery_id)
            if delivery is not None and not other_open_jobs(session, row.delivery_id, row.id):
                delivery.status = DONE

    def release(self, job: Job) -> None:
        """Give a job back unfinished and uncounted (its worker stopped; not the job's fault)."""
        with self._ledger.write() as session:
            row = self._owned(session, job)
            if row is not None:
                row.state, row.lease_owner, row.lease_until = QUEUED, None, None
                row.run_after = self._clock()
                metrics.job_ran("released")

    def fail(self, job: Job, error: str, *, retry_in_s: float | None = None) -> None:
        """Count a failure: queue the job again after ``retry_in_s`` while it has failed fewer
        than ``max_attempts`` times, else (or with None: a permanent error) fail it for good."""
        now = self._clock()
        with self._ledger.write() as session:
            row = self._owned(session, job)
            if row is None:
                return
            row.error, row.expiries = error[:4000], 0
            row.failures += 1
            if retry_in_s is not None and row.failures < row.max_attempts:
                row.state, row.lease_until = QUEUED, None
                row.run_after = now + timedelta(seconds=retry_in_s)
                metrics.job_ran("retry")
                return
            self._give_up(session, row, error, now)
            metrics.job_ran("failed")

    def _give_up(self, session: Any, row: JobORM, error: str, now: datetime) -> None:
        row.state, row.finished_at, row.lease_until, row.error = FAILED, now, None, error[:4000]
        delivery = session.get(DeliveryORM, row.delivery_id)
        if delivery is not None:
            delivery.status, delivery.error = FAILED, error[:4000]

    # --- inspection ----------------------------------------------------------------------
    def delivery_status(self, delivery_id: str) -> str | None:
        with self._ledger.read() as session:
            row = session.get(DeliveryORM, delivery_id)
            return row.status if row else None

    def stats(self) -> metrics.QueueStats:
        """Jobs by state, how many wait, and the age of the oldest waiting (for /metrics)."""
        with self._ledger.read() as session:
            rows = session.execute(select(JobORM.state, func.count()).group_by(JobORM.state))
            by_state = {state: int(n) for state, n in rows}
            oldest = session.scalar(
                select(func.min(JobORM.created_at)).where(JobORM.state == QUEUED)
            )
        return metrics.QueueStats(
            by_state, by_state.get(QUEUED, 0), metrics.age_s(oldest, self._clock())
        )

    def counts(self) -> dict[str, int]:
        with self._ledger.read() as session:
            out: dict[str, int] = {}
            for state in session.scalars(select(JobORM.state)):
                out[state] = out.get(state, 0) + 1
            return out
