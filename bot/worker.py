"""Workers: claim a job, route its event to handlers, renew the lease while they run."""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable
from typing import Any

from bot.adapters.queue_sql import Job, SqlQueue
from bot.core.logs import scrub
from bot.events import EventError, parse_event
from bot.router import Router

log = logging.getLogger("tierbot.worker")


class PermanentError(Exception):
    """A job that cannot succeed by trying again (e.g. a 404 from GitHub)."""


class Worker:
    def __init__(
        self,
        *,
        queue: SqlQueue,
        router: Router,
        context: Callable[[Any], Any],
        name: str,
        heartbeat_s: float = 10.0,
        retry_backoff_s: float = 5.0,
        redact: Callable[[str], str] = scrub,
    ) -> None:
        self._queue = queue
        self._router = router
        self._context = context
        self.name = name
        self._heartbeat_s = heartbeat_s
        self._retry_backoff_s = retry_backoff_s
        self._redact = redact  # a job's error is stored: it must hold no secret

    def run_once(self) -> Job | None:
        """Claim and run one job; None when the queue had nothing runnable."""
        job = self._queue.claim(self.name)
        if job is None:
            return None
        stop = threading.Event()
        beat = threading.Thread(target=self._beat, args=(job, stop), daemon=True)
        beat.start()
        try:
            self._handle(job)
        except PermanentError as exc:
            log.warning("job %s failed for good: %s", job.id, exc)
            self._queue.fail(job, self._redact(str(exc)), retry_in_s=None)
        except Exception as exc:  # one job's failure must never stop the worker
            log.exception("job %s failed", job.id)
            detail = self._redact("".join(traceback.format_exception_only(type(exc), exc)))
            self._queue.fail(job, detail.strip(), retry_in_s=self._retry_backoff_s * job.attempts)
        else:
            self._queue.complete(job)
        finally:
            stop.set()
            beat.join()
        return job

    def run_forever(self, stop: threading.Event, *, idle_s: float = 0.5) -> None:
        while not stop.is_set():
            if self.run_once() is None:
                stop.wait(idle_s)

    def _handle(self, job: Job) -> None:
        try:
            event = parse_event(job.event, job.delivery_id, job.payload)
        except EventError as exc:
            raise PermanentError(f"malformed payload: {exc}") from None
        handlers = self._router.handlers_for(event)
        if not handlers:
            return
        ctx = self._context(event)
        for handler in handlers:
            handler(event, ctx)

    def _beat(self, job: Job, stop: threading.Event) -> None:
        while not stop.wait(self._heartbeat_s):
            if not self._queue.heartbeat(job):
                log.warning("job %s lost its lease", job.id)
                return
