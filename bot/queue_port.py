"""The queue port: what intake and workers need from a queue, whichever engine runs the jobs.

``SqlQueue`` (``bot/adapters/queue_sql.py``) is the embedded queue of one machine on SQLite;
``ProcrastinateQueue`` (``bot/adapters/queue_procrastinate.py``) runs the jobs on procrastinate
when the database is PostgreSQL. Both store a delivery and its job in one transaction before
intake answers 202.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from bot.adapters.ledger import SqlLedger
    from bot.adapters.queue_rows import Accepted, Incoming, Job
    from bot.metrics import QueueStats
    from bot.worker import Worker


class Intake(Protocol):
    """Where the webhook intake stores deliveries (raises QueueUnavailable or Unstorable)."""

    def accept_many(self, items: Sequence[Incoming]) -> list[Accepted]: ...

    def ignore(self, *, delivery_id: str, event: str, action: str) -> None: ...

    def delivery_status(self, delivery_id: str) -> str | None: ...

    def stats(self) -> QueueStats: ...


class JobOutcomes(Protocol):
    """How a worker reports on a claimed job (``bot.worker.Worker`` calls these)."""

    @property
    def lease_s(self) -> float: ...

    def claim(self, worker: str) -> Job | None: ...

    def heartbeat(self, job: Job) -> bool: ...

    def complete(self, job: Job) -> None: ...

    def release(self, job: Job) -> None: ...

    def fail(self, job: Job, error: str, *, retry_in_s: float | None = None) -> None: ...


# One vocabulary for both queues. ``retrying``: queued again after a run that did not finish
# (it failed, its worker stopped, or an operator retried it); ``cancelled``: procrastinate's
# cancelled or aborted (the embedded queue cancels nothing).
JOB_STATES = ("queued", "retrying", "running", "done", "failed", "cancelled")
_PROCRASTINATE_STATES = {
    "todo": "queued",
    "doing": "running",
    "succeeded": "done",
    "failed": "failed",
    "cancelled": "cancelled",
    "aborting": "cancelled",
    "aborted": "cancelled",
}


def job_state(raw: str) -> str:
    """A queue's own name of a job state in ``JOB_STATES`` (procrastinate's are mapped)."""
    return _PROCRASTINATE_STATES.get(raw, raw)


@dataclass(frozen=True)
class JobQuery:
    states: tuple[str, ...] = ()  # of JOB_STATES; empty: every state
    repo: str | None = None  # ``owner/repo``: its jobs only (case-insensitive)
    limit: int = 50


@dataclass(frozen=True)
class JobRow:
    """One job as the operator sees it (``tierbot jobs``)."""

    id: int
    state: str  # of JOB_STATES
    key: str  # owner/repo#n: the issue or pull request
    event: str
    action: str
    delivery_id: str
    attempts: int  # runs started
    worker: str  # the worker running it now or the last one that ran it; "" for none
    created_at: datetime
    error: str  # why it failed, when it did; else ""


class NotRetryable(Exception):
    """No such job, or the job is not failed."""


class JobBoard(Protocol):
    """The operator's view of the queue: list its jobs, run a failed one again."""

    def stats(self) -> QueueStats: ...

    def jobs(self, query: JobQuery) -> list[JobRow]: ...

    def retry(self, job_id: int) -> JobRow: ...


def uses_procrastinate(url: str) -> bool:
    from sqlalchemy.engine import make_url

    return make_url(url).get_backend_name() == "postgresql"


def open_queue(ledger: SqlLedger, *, lease_s: float = 60.0) -> Intake:
    """The queue of the ledger's database: procrastinate on PostgreSQL, else the embedded one."""
    if uses_procrastinate(ledger.url):
        from bot.adapters.queue_procrastinate import ProcrastinateQueue

        return ProcrastinateQueue(ledger)
    from bot.adapters.queue_sql import SqlQueue

    return SqlQueue(ledger, lease_s=lease_s)


def job_outcomes(queue: Intake, ledger: SqlLedger, *, lease_s: float) -> JobOutcomes:
    """What a worker reports to: the embedded queue itself, or procrastinate's job state."""
    from bot.adapters.queue_sql import SqlQueue

    if isinstance(queue, SqlQueue):
        return queue
    from bot.adapters.queue_procrastinate import ProcrastinateJobs

    return ProcrastinateJobs(ledger, lease_s=lease_s)


def job_board(queue: Intake, ledger: SqlLedger) -> JobBoard:
    """The operator's view of the queue ``open_queue`` gave."""
    from bot.adapters.queue_sql import SqlQueue

    if isinstance(queue, SqlQueue):
        from bot.adapters.queue_board import SqlJobBoard

        return SqlJobBoard(queue, ledger)
    from bot.adapters.queue_pg_board import ProcrastinateJobBoard

    return ProcrastinateJobBoard(ledger, queue.stats)


def run_jobs(
    queue: Intake, ledger: SqlLedger, worker: Worker, stop: threading.Event, *, lease_s: float
) -> None:
    """Run jobs until ``stop`` (embedded) or SIGTERM/SIGINT (procrastinate's worker)."""
    from bot.adapters.queue_sql import SqlQueue

    if isinstance(queue, SqlQueue):
        worker.run_forever(stop)
        return
    from bot.adapters.queue_procrastinate import run_worker

    run_worker(
        ledger, worker.run_claimed, name=worker.name, lease_s=lease_s, monotonic=time.monotonic
    )
