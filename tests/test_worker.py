"""Workers: a lost lease stops the handler; permanent errors fail at once, transient ones retry."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from bot.adapters.github import GitHubError, GitHubForge, GitHubRateLimited, InvalidName
from bot.adapters.github import is_permanent as github_is_permanent
from bot.adapters.github.auth import GitHubApp
from bot.adapters.ledger import SqlLedger
from bot.adapters.queue_rows import FAILED, QUEUED, RUNNING, Job, JobORM
from bot.adapters.queue_sql import SqlQueue
from bot.dispatch import Router
from bot.events import Event
from bot.lease import LeaseLost
from bot.worker import PermanentError, Worker
from tests.support.databases import database_url
from tests.support.github_emulator import GitHubEmulator

pytest_plugins = ["tests.support.github_emulator.fixtures"]

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
PAYLOAD = {"action": "labeled", "issue": {"number": 7}, "label": {"name": "tierbot:stub"}}


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Ctx:
    """What the worker's context factory hands a handler here: the lease guard."""

    guard: Callable[[], None]


@dataclass
class Seen:
    writes: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlLedger]:
    for url in database_url(request.param, tmp_path):
        with SqlLedger(url) as ledger:
            yield ledger


def accept(queue: SqlQueue, delivery: str = "d1") -> None:
    queue.accept(
        delivery_id=delivery, event="issues", action="labeled", key="o/r#7", payload=PAYLOAD
    )


def make_worker(
    queue: SqlQueue,
    handler: Callable[[Event, Ctx], None],
    seen: Seen,
    **options: Any,
) -> Worker:
    router = Router()
    router.on("issues.labeled")(handler)

    @router.on_failure("issues.labeled")
    def failed(event: Event, ctx: Ctx, why: str) -> None:
        ctx.guard()
        seen.failures.append(why)

    return Worker(
        queue=queue,
        router=router,
        context=lambda event, *, guard: Ctx(guard),
        name="w1",
        **options,
    )


def row(ledger: SqlLedger, job_id: int) -> JobORM:
    with ledger.read() as session:
        found = session.get(JobORM, job_id)
        assert found is not None
        session.expunge(found)  # keep its values after the session ends
        return found


def test_a_worker_that_loses_its_lease_stops_before_its_next_write(ledger: SqlLedger):
    queue = SqlQueue(ledger, lease_s=60)
    accept(queue)
    seen = Seen()
    working, stolen = threading.Event(), threading.Event()

    def handler(event: Event, ctx: Ctx) -> None:
        ctx.guard()
        seen.writes.append("before")
        working.set()
        stolen.wait(10)
        for _ in range(500):  # every write checks the lease first
            ctx.guard()
            time.sleep(0.01)
        seen.writes.append("after the lease was lost")

    worker = make_worker(queue, handler, seen, heartbeat_s=0.05)
    running = threading.Thread(target=worker.run_once)
    running.start()
    assert working.wait(10)
    # Another worker whose clock says the lease ran out takes the job meanwhile.
    late = Clock()
    late.now = datetime.now(UTC) + timedelta(minutes=5)
    thief = SqlQueue(ledger, lease_s=60, clock=late)
    deadline = time.monotonic() + 10
    taken: Job | None = None
    while taken is None and time.monotonic() < deadline:
        taken = thief.claim("w2")
        time.sleep(0.02)
    stolen.set()
    running.join(15)
    assert taken is not None and not running.is_alive()
    assert seen.writes == ["before"]
    after = row(ledger, taken.id)
    # The old worker neither completed, failed nor released what is now w2's job.
    assert (after.state, after.lease_owner, after.failures) == (RUNNING, taken.lease_owner, 0)
    assert seen.failures == []


class UnreachableHeartbeats(SqlQueue):
    def heartbeat(self, job: Job) -> bool:
        raise OperationalError("UPDATE jobs", {}, Exception("database is away"))


class Monotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_heartbeats_that_fail_stop_the_handler_before_the_lease_runs_out(ledger: SqlLedger):
    queue = UnreachableHeartbeats(ledger, lease_s=40)
    accept(queue)
    seen = Seen()
    monotonic = Monotonic()
    raised: list[BaseException] = []

    def handler(event: Event, ctx: Ctx) -> None:
        ctx.guard()
        seen.writes.append("at 0 s")
        monotonic.now += 29  # 29 s: within the 30 s the worker trusts its lease of 40 s for
        ctx.guard()
        seen.writes.append("at 29 s")
        monotonic.now += 2  # 31 s with no renewal: 9 s before another worker could claim
        try:
            ctx.guard()
        except LeaseLost as exc:
            raised.append(exc)
            raise
        seen.writes.append("at 31 s")

    job = make_worker(queue, handler, seen, heartbeat_s=0.01, monotonic=monotonic).run_once()
    assert job is not None
    assert seen.writes == ["at 0 s", "at 29 s"] and len(raised) == 1
    after = row(ledger, job.id)
    assert (after.state, after.failures) == (QUEUED, 0)  # given back, not counted as a failure


@pytest.mark.parametrize(
    ("error", "why"),
    [
        (GitHubError("get issue o/r#7", 404, "Not Found"), "404"),
        (GitHubError("add labels o/r#7", 422, "Validation Failed (name is invalid)"), "422"),
        (GitHubError("create pull o/r", 403, "Resource not accessible by integration"), "403"),
        (InvalidName("not an owner/name repository: 'o/../r'"), "owner/name"),
        (PermanentError("event carries no installation id"), "installation"),
    ],
)
def test_permanent_errors_fail_the_job_at_once_with_the_reason(
    ledger: SqlLedger, error: Exception, why: str
):
    queue = SqlQueue(ledger, clock=Clock())
    accept(queue)
    seen = Seen()

    def handler(event: Event, ctx: Ctx) -> None:
        raise error

    worker = make_worker(queue, handler, seen, is_permanent=github_is_permanent)
    job = worker.run_once()
    assert job is not None
    after = row(ledger, job.id)
    assert after.state == FAILED and after.attempts == 1 and why in after.error
    assert queue.delivery_status("d1") == FAILED
    assert len(seen.failures) == 1 and why in seen.failures[0]


@pytest.mark.parametrize(
    ("error", "at_least_s"),
    [
        (GitHubError("get issue o/r#7", 502, "Bad Gateway"), 5),
        (GitHubError("get issue o/r#7", None, "timed out"), 5),
        (GitHubRateLimited("get issue o/r#7", 403, "rate limited", retry_after=900), 900),
        (OperationalError("SELECT", {}, Exception("database is locked")), 5),
    ],
)
def test_transient_errors_are_retried_with_backoff_then_fail(
    ledger: SqlLedger, error: Exception, at_least_s: float
):
    clock = Clock()
    queue = SqlQueue(ledger, clock=clock)
    accept(queue)
    seen = Seen()

    def handler(event: Event, ctx: Ctx) -> None:
        raise error

    worker = make_worker(queue, handler, seen, is_permanent=github_is_permanent)
    waits = []
    for _ in range(5):
        job = worker.run_once()
        assert job is not None
        after = row(ledger, job.id)
        if after.state == QUEUED:
            waits.append((after.run_after - clock.now).total_seconds())
            assert worker.run_once() is None  # not before the backoff
            clock.now = after.run_after
    assert after.state == FAILED and after.failures == 5
    assert len(waits) == 4 and waits[0] >= at_least_s and waits == sorted(waits)
    assert len(seen.failures) == 1  # told once, when the job gave up


def test_a_malformed_payload_fails_at_once(ledger: SqlLedger):
    queue = SqlQueue(ledger, clock=Clock())
    queue.accept(
        delivery_id="d1",
        event="issues",
        action="labeled",
        key="o/r#7",
        payload={"action": "labeled", "issue": {"number": "seven"}},
    )
    worker = make_worker(queue, lambda event, ctx: None, Seen())
    job = worker.run_once()
    assert job is not None
    after = row(ledger, job.id)
    assert after.state == FAILED and "malformed payload" in after.error


def test_a_404_from_github_fails_the_job_at_once(
    ledger: SqlLedger, github_emulator: GitHubEmulator, emulator_repo: Any
):
    """The real forge against the emulator: a missing issue is a 404, recorded, not retried."""
    app = GitHubApp(
        github_emulator.app_id, github_emulator.private_key_pem, api_url=github_emulator.api_url
    )
    installation = github_emulator.installation_for("octo/demo").id
    forge = GitHubForge(app, installation, pace_requests_s=None, pace_writes_s=None)
    queue = SqlQueue(ledger, clock=Clock())
    accept(queue)
    seen = Seen()

    def handler(event: Event, ctx: Ctx) -> None:
        forge.issue("octo/demo", 4040)

    with forge:
        job = make_worker(queue, handler, seen, is_permanent=github_is_permanent).run_once()
    app.close()
    assert job is not None
    after = row(ledger, job.id)
    assert after.state == FAILED and after.failures == 1
    assert "GitHub answered 404" in after.error and "octo/demo" in after.error
