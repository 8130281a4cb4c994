"""Durable deliveries and leased jobs on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.adapters.ledger import SqlLedger
from bot.adapters.queue_rows import DONE, FAILED, QUEUED
from bot.adapters.queue_sql import EXPIRIES_BEFORE_BACKOFF, SqlQueue
from tests.support.databases import database_url

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from database_url(request.param, tmp_path)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def queue(url: str, clock: Clock) -> Iterator[SqlQueue]:
    with SqlLedger(url) as ledger:
        yield SqlQueue(ledger, lease_s=60, clock=clock)


def accept(queue: SqlQueue, delivery: str, key: str = "o/r#1"):
    return queue.accept(
        delivery_id=delivery, event="issues", action="labeled", key=key, payload={"n": delivery}
    )


def test_redelivery_of_a_handled_delivery_is_ignored(queue: SqlQueue):
    assert accept(queue, "d1").outcome == "queued"
    for _ in range(20):
        assert accept(queue, "d1").outcome == "duplicate"
    assert queue.counts() == {QUEUED: 1}


def test_redelivery_of_a_failed_delivery_is_processed(queue: SqlQueue):
    accept(queue, "d1")
    job = queue.claim("w1")
    assert job is not None
    queue.fail(job, "boom", retry_in_s=None)
    assert queue.delivery_status("d1") == FAILED
    assert accept(queue, "d1").outcome == "queued"
    again = queue.claim("w1")
    assert again is not None and again.delivery_id == "d1"


def test_expired_lease_returns_the_job(queue: SqlQueue, clock: Clock):
    accept(queue, "d1")
    first = queue.claim("w1")
    assert first is not None
    assert queue.claim("w2") is None  # leased
    clock.now += timedelta(seconds=61)  # w1 died: no heartbeat
    second = queue.claim("w2")
    assert second is not None and second.id == first.id and second.attempts == 2
    queue.complete(first)  # the dead worker's late completion is ignored
    assert queue.delivery_status("d1") == QUEUED
    queue.complete(second)
    assert queue.delivery_status("d1") == DONE


def test_heartbeat_keeps_the_lease(queue: SqlQueue, clock: Clock):
    accept(queue, "d1")
    job = queue.claim("w1")
    assert job is not None
    clock.now += timedelta(seconds=50)
    assert queue.heartbeat(job)
    clock.now += timedelta(seconds=50)
    assert queue.claim("w2") is None


def test_jobs_for_the_same_key_never_run_at_once(queue: SqlQueue):
    accept(queue, "d1", key="o/r#1")
    accept(queue, "d2", key="o/r#1")
    accept(queue, "d3", key="o/r#2")
    a = queue.claim("w1")
    b = queue.claim("w2")
    assert a is not None and b is not None
    assert (a.delivery_id, b.delivery_id) == ("d1", "d3")
    assert queue.claim("w3") is None
    queue.complete(a)
    c = queue.claim("w3")
    assert c is not None and c.delivery_id == "d2"


def test_failure_retries_later_then_gives_up(queue: SqlQueue, clock: Clock):
    accept(queue, "d1")
    for attempt in range(1, 6):
        job = queue.claim("w")
        assert job is not None and job.attempts == attempt
        queue.fail(job, f"error {attempt}", retry_in_s=10)
        assert queue.claim("w") is None  # not before run_after
        clock.now += timedelta(seconds=11)
    assert queue.delivery_status("d1") == FAILED
    assert queue.claim("w") is None


def test_concurrent_claims_never_share_a_job(url: str):
    with SqlLedger(url) as ledger:
        queue = SqlQueue(ledger)
        for i in range(30):
            accept(queue, f"d{i}", key=f"o/r#{i}")
        claimed: list[int] = []
        lock = threading.Lock()

        def work(name: str) -> None:
            while (job := queue.claim(name)) is not None:
                with lock:
                    claimed.append(job.id)
                queue.complete(job)

        threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(claimed) == sorted(set(claimed)) and len(claimed) == 30


def test_lease_expiries_are_never_counted_as_failures(queue: SqlQueue, clock: Clock):
    accept(queue, "d1")
    for _ in range(12):  # workers killed again and again: the job waits longer, never drops
        job = queue.claim("w")
        while job is None:
            clock.now += timedelta(minutes=10)
            job = queue.claim("w")
        assert job.failures == 0
        clock.now += timedelta(seconds=61)
    assert queue.delivery_status("d1") == QUEUED
    job = queue.claim("w")
    while job is None:
        clock.now += timedelta(minutes=10)
        job = queue.claim("w")
    queue.fail(job, "one real error", retry_in_s=5)  # an exception counts, once
    clock.now += timedelta(seconds=6)
    job = queue.claim("w")
    assert job is not None and job.failures == 1 and job.expiries == 0
    queue.complete(job)
    assert queue.delivery_status("d1") == DONE


def test_a_job_expiring_many_times_in_a_row_waits_longer_before_each_claim(
    queue: SqlQueue, clock: Clock
):
    accept(queue, "d1")
    for _ in range(EXPIRIES_BEFORE_BACKOFF + 1):  # claimed at once after each expiry so far
        assert queue.claim("w") is not None
        clock.now += timedelta(seconds=61)
    assert queue.claim("w") is None  # one expiry too many: it backs off
    clock.now += timedelta(seconds=119)
    assert queue.claim("w") is None
    clock.now += timedelta(seconds=2)
    job = queue.claim("w")
    assert job is not None and job.expiries == EXPIRIES_BEFORE_BACKOFF + 1


def test_jobs_of_one_key_keep_their_order_while_the_first_waits_to_retry(
    queue: SqlQueue, clock: Clock
):
    accept(queue, "labeled", key="o/r#1")
    accept(queue, "ci", key="o/r#1")
    accept(queue, "other", key="o/r#2")
    first = queue.claim("w1")
    assert first is not None and first.delivery_id == "labeled"
    queue.fail(first, "GitHub answered 502", retry_in_s=30)
    other = queue.claim("w2")
    assert other is not None and other.delivery_id == "other"
    assert queue.claim("w2") is None  # "ci" must not overtake "labeled"
    clock.now += timedelta(seconds=31)
    again = queue.claim("w2")
    assert again is not None and again.delivery_id == "labeled"
    queue.complete(again)
    last = queue.claim("w2")
    assert last is not None and last.delivery_id == "ci"


def test_a_released_job_is_claimed_again_at_once_and_uncounted(queue: SqlQueue):
    accept(queue, "d1")
    job = queue.claim("w1")
    assert job is not None
    queue.release(job)
    again = queue.claim("w2")
    assert again is not None and again.id == job.id and again.failures == 0
    queue.release(job)  # the first worker's word no longer counts
    queue.fail(job, "late", retry_in_s=None)
    assert queue.claim("w3") is None
    queue.complete(again)
    assert queue.delivery_status("d1") == DONE
