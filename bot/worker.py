"""Workers: claim a job, route its event to handlers, renew the lease while they run."""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable
from functools import partial
from typing import Any

from bot.adapters.queue_rows import Job
from bot.core.logs import scrub
from bot.dispatch import Router
from bot.events import Event, EventError, parse_event
from bot.lease import Lease, LeaseLost
from bot.logsetup import job_scope
from bot.queue_port import JobOutcomes

log = logging.getLogger("tierbot.worker")
# The worker stops writing this share of the lease before the database lets another worker
# claim the job (room for clock drift between machines and a write already under way).
# Heartbeats come every eighth of the lease, so several may fail before the worker stops.
LEASE_MARGIN = 0.25


class PermanentError(Exception):
    """A job that cannot succeed by trying again (e.g. a 404 from GitHub)."""


def never_permanent(exc: BaseException) -> bool:
    return False


class Worker:
    def __init__(
        self,
        *,
        queue: JobOutcomes,
        router: Router,
        context: Callable[..., Any],
        name: str,
        heartbeat_s: float = 10.0,
        retry_backoff_s: float = 5.0,
        max_backoff_s: float = 300.0,
        is_permanent: Callable[[BaseException], bool] = never_permanent,
        monotonic: Callable[[], float] = time.monotonic,
        redact: Callable[[str], str] = scrub,
    ) -> None:
        """``context(event, guard=...)`` builds a handler's Context whose writes and paid calls
        call ``guard`` first; ``is_permanent`` tells errors that retrying cannot fix."""
        self._queue = queue
        self._router = router
        self._context = context
        self.name = name
        self._heartbeat_s = heartbeat_s
        self._retry_backoff_s = retry_backoff_s
        self._max_backoff_s = max_backoff_s
        self._is_permanent = is_permanent
        self._monotonic = monotonic
        self._redact = redact  # a job's error is stored: it must hold no secret

    def run_once(self) -> Job | None:
        """Claim and run one job; None when the queue had nothing runnable."""
        started = self._monotonic()
        job = self._queue.claim(self.name)
        if job is None:
            return None
        self.run_claimed(job, started)
        return job

    def run_claimed(self, job: Job, started: float) -> None:
        """Run a job claimed at ``started`` (here, or by another engine) and record how it
        ended; the queue's record may raise to hand the outcome to that engine."""
        lease = Lease(
            started,
            valid_s=self._queue.lease_s * (1 - LEASE_MARGIN),
            clock=self._monotonic,
        )
        stop = threading.Event()
        beat = threading.Thread(target=self._beat, args=(job, lease, stop), daemon=True)
        beat.start()
        try:
            with job_scope(delivery_id=job.delivery_id, job_id=job.id, key=job.key):
                log.info("job %s: %s event, try %s", job.id, job.event, job.attempts)
                record = self._run(job, lease)
        finally:
            stop.set()
            beat.join()
        # Heartbeats end first, so one racing the outcome never reads it as a lost lease.
        record()

    def run_forever(self, stop: threading.Event, *, idle_s: float = 0.5) -> None:
        while not stop.is_set():
            try:
                ran = self.run_once()
            except Exception:  # the database may be away for a moment; the worker stays up
                log.exception("worker %s could not reach the queue", self.name)
                ran = None
            if ran is None:
                stop.wait(idle_s)

    def _run(self, job: Job, lease: Lease) -> Callable[[], None]:
        """Run the job's handlers; returns how to record the outcome in the queue."""
        event: Event | None = None
        made: list[Any] = []

        def context(event: Event) -> Any:
            # One context, so one executor, for all the job does: its failure handlers too.
            if not made:
                made.append(self._context(event, guard=lease.check))
            return made[0]

        try:
            try:
                event = parse_event(job.event, job.delivery_id, job.payload)
            except EventError as exc:
                raise PermanentError(f"malformed payload: {exc}") from None
            self._handle(event, context)
        except LeaseLost as exc:
            return partial(self._stopped, job, str(exc))
        except Exception as exc:  # one job's failure must never stop the worker
            try:
                return self._failed(job, event, lease, exc, context)
            except LeaseLost as lost:
                return partial(self._stopped, job, str(lost))
        return partial(self._queue.complete, job)

    def _handle(self, event: Event, context: Callable[[Event], Any]) -> None:
        handlers = self._router.handlers_for(event)
        if not handlers:
            return
        ctx = context(event)
        for handler in handlers:
            handler(event, ctx)

    def _failed(
        self,
        job: Job,
        event: Event | None,
        lease: Lease,
        exc: Exception,
        context: Callable[[Event], Any],
    ) -> Callable[[], None]:
        permanent = isinstance(exc, PermanentError) or self._is_permanent(exc)
        detail = self._redact("".join(traceback.format_exception_only(type(exc), exc))).strip()
        if permanent:
            log.warning("job %s failed for good: %s", job.id, detail)
        else:
            log.error(
                "job %s failed (%d of %d tries)",
                job.id,
                job.failures + 1,
                job.max_attempts,
                exc_info=exc,
            )
        final = permanent or job.failures + 1 >= job.max_attempts
        if final and event is not None:
            lease.check()
            self._tell_people(event, context, detail)
        retry_in = None if permanent else self._backoff(job, exc)
        return partial(self._queue.fail, job, detail, retry_in_s=retry_in)

    def _backoff(self, job: Job, exc: Exception) -> float:
        delay = min(self._max_backoff_s, self._retry_backoff_s * 2.0**job.failures)
        # A rate limit says when to come back (GitHubError.retry_after).
        after = getattr(exc, "retry_after", None)
        return max(delay, float(after)) if isinstance(after, int | float) else delay

    def _tell_people(self, event: Event, context: Callable[[Event], Any], why: str) -> None:
        handlers = self._router.failure_handlers_for(event)
        if not handlers:
            return
        try:
            ctx = context(event)
            for handler in handlers:
                handler(event, ctx, why)
        except LeaseLost:
            raise
        except Exception:  # the job's failure is recorded below whether or not this worked
            log.exception("could not report the failure of %s", event.kind)

    def _stopped(self, job: Job, why: str) -> None:
        log.warning("job %s: %s; its handler stopped", job.id, why)
        try:
            self._queue.release(job)
        except Exception:  # the lease runs out on its own; another worker takes the job then
            log.exception("job %s could not be released", job.id)

    def _beat(self, job: Job, lease: Lease, stop: threading.Event) -> None:
        while not stop.wait(self._heartbeat_s):
            started = self._monotonic()
            try:
                kept = self._queue.heartbeat(job)
            except Exception:  # keep trying: the lease holds until its local deadline
                log.exception("job %s: heartbeat failed", job.id)
                continue
            if not kept:
                lease.lose("another worker took the job")
                log.warning("job %s lost its lease", job.id)
                return
            lease.renewed(started)
