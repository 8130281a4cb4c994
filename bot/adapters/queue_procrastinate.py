"""Jobs on procrastinate when the database is PostgreSQL: intake defers, workers run the handlers.

Intake writes the delivery row and defers its procrastinate job on the same connection, in one
transaction, before the 202: both are stored or neither is. The job's ``lock`` is its key (one
issue or pull request), so jobs of one key run one at a time, in arrival order; its
``queueing_lock`` is a digest of the event and payload, so the same event delivered again under
a new delivery id while the first is still waiting collapses into it. A failure is retried by
the worker's backoff (``RetryLater``) until ``MAX_ATTEMPTS``; a permanent error fails the job at
once. Workers heartbeat through procrastinate; a job whose worker stopped heartbeating is put
back by ``recover_stalled`` in every running worker, and its old worker, if it is alive,
learns it from its own heartbeat (the job is no longer ``doing``) and stops writing.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import procrastinate
from procrastinate import exceptions, jobs, retry
from sqlalchemy import text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from bot import metrics
from bot.adapters.ledger import SqlLedger
from bot.adapters.queue_rows import (
    DONE,
    FAILED,
    Accepted,
    DeliveryORM,
    Incoming,
    Job,
    record_deliveries,
    storage_errors,
)
from bot.adapters.queue_sql import SqlQueue

log = logging.getLogger("tierbot.queue")
QUEUE = "tierbot"
TASK = "tierbot.run_delivery"
MAX_ATTEMPTS = 5


class RetryLater(Exception):
    """The worker counted a failure and wants the job again after ``retry_in_s``."""

    def __init__(self, error: str, retry_in_s: float) -> None:
        super().__init__(error)
        self.retry_in_s = retry_in_s


class GaveUp(Exception):
    """The job failed for good (permanent error, or its last attempt); not retried."""


def conninfo(url: str) -> str:
    """The libpq connection string of a SQLAlchemy PostgreSQL URL (query options kept)."""
    from psycopg.conninfo import make_conninfo

    parsed = make_url(url)
    params: dict[str, Any] = {
        "host": parsed.host,
        "port": parsed.port,
        "dbname": parsed.database,
        "user": parsed.username,
        "password": parsed.password,
    }
    params.update({k: v for k, v in parsed.query.items() if isinstance(v, str)})
    return make_conninfo(**{k: v for k, v in params.items() if v is not None})


def _digest(item: Incoming) -> str:
    body = json.dumps([item.event, item.payload], sort_keys=True, separators=(",", ":"))
    return "tierbot:" + hashlib.sha256(body.encode()).hexdigest()[:40]


class _Retry(retry.BaseRetryStrategy):
    """procrastinate's retry strategy: retry exactly what the worker asked to retry."""

    def get_retry_decision(
        self, *, exception: BaseException, job: jobs.Job
    ) -> retry.RetryDecision | None:
        if not isinstance(exception, RetryLater) or job.attempts + 1 >= MAX_ATTEMPTS:
            return None
        return retry.RetryDecision(retry_in={"seconds": max(1, int(exception.retry_in_s))})


def make_app(url: str) -> procrastinate.App:
    return procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=conninfo(url)))


class ProcrastinateQueue:
    """Intake's side (``Intake``) on PostgreSQL; the worker's side is ``ProcrastinateJobs``."""

    def __init__(self, ledger: SqlLedger, *, clock: Callable[[], datetime] | None = None) -> None:
        self._ledger = ledger
        self._clock = clock or (lambda: datetime.now(UTC))
        self._sql = SqlQueue(ledger, clock=self._clock)  # ignored deliveries, status reads
        self.app = make_app(ledger.url)

    def accept_many(self, items: Sequence[Incoming]) -> list[Accepted]:
        with storage_errors():
            try:
                return self._store(items)
            except IntegrityError:
                if len(items) == 1:
                    return [Accepted("duplicate")]
                return [self.accept_many([item])[0] for item in items]

    def _store(self, items: Sequence[Incoming]) -> list[Accepted]:
        now = self._clock()
        with self._ledger.write() as session:
            plan = record_deliveries(session, items, now)
            out: list[Accepted] = [Accepted("duplicate")] * len(items)
            raw: Any = session.connection().connection.driver_connection
            for index, _ in plan.jobs:
                item = items[index]
                try:
                    with raw.transaction():  # a savepoint: a collapsed duplicate undoes its job
                        job_id = self._defer(item, raw)
                except exceptions.AlreadyEnqueued:
                    continue
                session.execute(
                    update(DeliveryORM)
                    .where(DeliveryORM.delivery_id == item.delivery_id)
                    .values(job_ref=job_id)
                )
                out[index] = Accepted("queued", job_id)
            return out

    def _defer(self, item: Incoming, connection: Any) -> int:
        """The job, on intake's connection (inside its transaction)."""
        deferrer = self.app.configure_task(
            name=TASK,
            queue=QUEUE,
            lock=item.key,
            queueing_lock=_digest(item),
            connection=connection,
        )
        job_id: int = deferrer.defer(
            delivery_id=item.delivery_id, event=item.event, key=item.key, payload=item.payload
        )
        return job_id

    def ignore(self, *, delivery_id: str, event: str, action: str) -> None:
        self._sql.ignore(delivery_id=delivery_id, event=event, action=action)

    def delivery_status(self, delivery_id: str) -> str | None:
        return self._sql.delivery_status(delivery_id)

    def stats(self) -> metrics.QueueStats:
        with self._ledger.read() as session:
            rows = session.execute(
                text(
                    "SELECT status::text, count(*) FROM procrastinate_jobs "
                    "WHERE queue_name = :q GROUP BY status"
                ),
                {"q": QUEUE},
            ).all()
            # procrastinate keeps no creation time; the delivery's arrival is the job's.
            oldest = session.scalar(
                text(
                    "SELECT min(d.received_at) FROM deliveries d JOIN procrastinate_jobs j "
                    "ON j.id = d.job_ref WHERE j.status = 'todo' AND j.queue_name = :q"
                ),
                {"q": QUEUE},
            )
        by_state = {str(r[0]): int(r[1]) for r in rows}
        return metrics.QueueStats(
            by_state, by_state.get("todo", 0), metrics.age_s(oldest, self._clock())
        )


class ProcrastinateJobs:
    """What ``bot.worker.Worker`` reports on a job procrastinate handed to this process."""

    def __init__(self, ledger: SqlLedger, *, lease_s: float) -> None:
        self._ledger = ledger
        self._lease_s = lease_s

    @property
    def lease_s(self) -> float:
        return self._lease_s

    def claim(self, worker: str) -> Job | None:
        return None  # procrastinate hands jobs over; nothing is claimed by polling here

    def heartbeat(self, job: Job) -> bool:
        """Still ours while procrastinate has the job ``doing`` (stall recovery makes it
        ``todo`` again for another worker)."""
        with self._ledger.read() as session:
            status = session.scalar(
                text("SELECT status::text FROM procrastinate_jobs WHERE id = :id"), {"id": job.id}
            )
        return bool(status == "doing")

    def complete(self, job: Job) -> None:
        self._set_delivery(job, DONE, "")
        metrics.job_ran("done")

    def release(self, job: Job) -> None:
        metrics.job_ran("released")
        # procrastinate must not record the job as done: another worker has it (or will).
        raise RetryLater("its worker stopped before the job ended", 1)

    def fail(self, job: Job, error: str, *, retry_in_s: float | None = None) -> None:
        if retry_in_s is not None and job.failures + 1 < job.max_attempts:
            metrics.job_ran("retry")
            raise RetryLater(error, retry_in_s)
        self._set_delivery(job, FAILED, error[:4000])
        metrics.job_ran("failed")
        raise GaveUp(error)

    def _set_delivery(self, job: Job, status: str, error: str) -> None:
        with self._ledger.write() as session:
            session.execute(
                update(DeliveryORM)
                .where(DeliveryORM.delivery_id == job.delivery_id)
                .values(status=status, error=error)
            )


def run_worker(
    ledger: SqlLedger,
    run_claimed: Callable[[Job, float], None],
    *,
    name: str,
    lease_s: float,
    monotonic: Callable[[], float],
) -> None:
    """Run procrastinate's worker in this process until SIGTERM or SIGINT."""
    app = make_app(ledger.url)

    @app.task(name=TASK, queue=QUEUE, pass_context=True, retry=_Retry())  # type: ignore[untyped-decorator,unused-ignore]
    def run_delivery(
        context: Any, delivery_id: str, event: str, key: str, payload: dict[str, Any]
    ) -> None:
        started = monotonic()
        attempts = int(context.job.attempts or 0)
        job = Job(
            id=int(context.job.id),
            delivery_id=delivery_id,
            event=event,
            key=key,
            payload=payload,
            attempts=attempts + 1,
            lease_owner=name,
            failures=attempts,
            max_attempts=MAX_ATTEMPTS,
        )
        with ledger.write() as session:
            session.execute(
                update(DeliveryORM)
                .where(DeliveryORM.delivery_id == delivery_id)
                .values(worker=name)
            )
        run_claimed(job, started)

    heartbeat_s = max(1.0, lease_s / 6)

    async def main() -> None:
        async with app.open_async():
            recovery = asyncio.create_task(recover_stalled(app, every_s=lease_s / 2, after=lease_s))
            try:
                await app.run_worker_async(
                    queues=[QUEUE],
                    name=name,
                    concurrency=1,
                    update_heartbeat_interval=heartbeat_s,
                    stalled_worker_timeout=lease_s,
                    install_signal_handlers=True,
                )
            finally:
                recovery.cancel()

    asyncio.run(main())


async def recover_stalled(app: Any, *, every_s: float, after: float) -> None:
    """Put back the jobs of workers that stopped heartbeating (SIGKILL, a lost machine)."""
    while True:
        await asyncio.sleep(every_s)
        try:
            stalled = await app.job_manager.get_stalled_jobs(
                queue=QUEUE, seconds_since_heartbeat=after
            )
            for job in stalled:
                await _put_back(app, job)
        except Exception:  # the database may be away for a moment; try again next round
            log.exception("stalled-job recovery failed")


async def _put_back(app: Any, job: Any) -> None:
    try:
        await app.job_manager.retry_job(job, retry_at=datetime.now(UTC))
    except exceptions.ConnectorException:  # another worker's recovery put it back first
        log.info("job %s: already queued again by another worker", job.id)
        return
    log.warning("job %s: its worker stopped heartbeating; queued again", job.id)
