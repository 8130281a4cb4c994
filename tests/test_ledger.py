"""Tests for bot/adapters/ledger.py on a temporary SQLite file and, when present, PostgreSQL."""

from __future__ import annotations

import sqlite3
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.adapters.ledger import SqlLedger
from bot.core.types import CheckResult, Outcome, Status, Task
from bot.ports import CallRecord, Ledger
from tests.support.databases import T0, Clock

pytest_plugins = ["tests.support.ledger_fixtures"]


def _task(kind: str = "stub", parent_id: int | None = None) -> Task:
    return Task(
        type=kind, text="write the stub", title="Add a stub", slug="add-stub", parent_id=parent_id
    )


def _call(cost: float | None, *, tier: str = "junior", outcome: str = "ok") -> CallRecord:
    return CallRecord(
        tier=tier,
        model="gpt-5-nano",
        prompt_tokens=100,
        completion_tokens=20,
        cost_usd=cost,
        latency_s=0.5,
        outcome=outcome,
    )


def test_is_a_ledger() -> None:
    ledger: Ledger = SqlLedger("sqlite://")
    assert isinstance(ledger, SqlLedger)


def test_constructor_does_no_io(tmp_path: Path) -> None:
    db = tmp_path / "deep" / "dir" / "ledger.db"
    led = SqlLedger(f"sqlite:///{db}")
    assert not db.parent.exists()
    # Not even for a server that does not exist, nor a driver that may not be installed.
    SqlLedger("postgresql+psycopg://nobody@127.0.0.1:1/none")
    with led:
        led.start_task(repo="o/r", task=_task(), start_tier="template", ceiling="junior")
    assert db.exists()


def test_sqlite_uses_wal(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    with SqlLedger(f"sqlite:///{db}") as led:
        led.start_task(repo="o/r", task=_task(), start_tier="template", ceiling="junior")
    assert Path(f"{db}-wal").exists() or _journal_mode(db) == "wal"


def _journal_mode(db: Path) -> str:
    import sqlite3

    conn = sqlite3.connect(db)
    try:
        return str(conn.execute("PRAGMA journal_mode").fetchone()[0])
    finally:
        conn.close()


def test_round_trip(ledger: SqlLedger, clock: Clock) -> None:
    parent = ledger.start_task(
        repo="o/r", task=_task("feature"), start_tier="junior", ceiling="senior"
    )
    clock.now = T0 + timedelta(seconds=1)
    task_id = ledger.start_task(
        repo="o/r", task=_task("stub", parent_id=parent), start_tier="template", ceiling="junior"
    )
    attempt = ledger.start_attempt(task_id, number=1, tier="junior")
    ledger.record_call(task_id, attempt, _call(0.0012))
    ledger.record_call(task_id, None, _call(None, outcome="refused"))
    check = CheckResult(
        passed=False,
        exit_code=1,
        duration_s=2.5,
        command="pytest -q",
        output="full log",
        excerpt="1 failed",
    )
    ledger.record_check(attempt, check)
    clock.now = T0 + timedelta(seconds=5)
    ledger.finish_attempt(
        attempt,
        outcome=Outcome.CHECK_FAILED,
        detail="1 failed",
        commit_sha="abc123",
        senior_cost_usd=0.04,
    )
    ledger.finish_task(
        task_id,
        status=Status.NEEDS_HUMAN,
        reason="ceiling reached",
        branch="tierbot/issue-7",
        cost_usd=0.0012,
        senior_cost_usd=0.04,
    )

    row = ledger.get_task(task_id)
    assert (row.parent_id, row.repo, row.type, row.title, row.slug, row.text) == (
        parent,
        "o/r",
        "stub",
        "Add a stub",
        "add-stub",
        "write the stub",
    )
    assert (row.start_tier, row.ceiling, row.status, row.reason, row.branch) == (
        "template",
        "junior",
        "needs-human",
        "ceiling reached",
        "tierbot/issue-7",
    )
    assert (row.cost_usd, row.cost_unknown, row.senior_cost_usd) == (0.0012, False, 0.04)
    assert (row.created_at, row.finished_at) == (
        T0 + timedelta(seconds=1),
        T0 + timedelta(seconds=5),
    )
    assert ledger.get_task(parent).status == "running"

    [att] = ledger.attempts(task_id)
    assert (att.id, att.number, att.tier, att.outcome, att.detail, att.commit_sha) == (
        attempt,
        1,
        "junior",
        "check-failed",
        "1 failed",
        "abc123",
    )
    assert (att.task_type, att.start_tier, att.senior_cost_usd) == ("stub", "template", 0.04)

    calls = ledger.calls(task_id)
    assert [c.record for c in calls] == [_call(0.0012), _call(None, outcome="refused")]
    assert [c.attempt_id for c in calls] == [attempt, None]
    # Only the excerpt is kept.
    assert ledger.checks(attempt) == [
        CheckResult(
            passed=False, exit_code=1, duration_s=2.5, command="pytest -q", excerpt="1 failed"
        )
    ]


def test_times_are_stored_in_utc(ledger: SqlLedger, clock: Clock) -> None:
    clock.now = datetime(2025, 3, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    task_id = ledger.start_task(repo="o/r", task=_task(), start_tier="template", ceiling="junior")
    created = ledger.get_task(task_id).created_at
    assert created == T0
    assert created.utcoffset() == timedelta(0)


def test_naive_times_are_refused(ledger: SqlLedger) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        ledger.spent_since("o/r", datetime(2025, 1, 1))


def test_unknown_cost_stays_unknown(ledger: SqlLedger) -> None:
    task_id = ledger.start_task(repo="o/r", task=_task(), start_tier="intern", ceiling="junior")
    attempt = ledger.start_attempt(task_id, number=1, tier="intern")
    ledger.record_call(task_id, attempt, _call(None, tier="intern"))
    ledger.record_call(task_id, attempt, _call(0.5))
    ledger.finish_task(
        task_id, status=Status.DONE, reason="", branch=None, cost_usd=0.5, senior_cost_usd=None
    )

    assert [c.record.cost_usd for c in ledger.calls(task_id)] == [None, 0.5]
    row = ledger.get_task(task_id)
    assert (row.cost_usd, row.cost_unknown, row.senior_cost_usd) == (0.5, True, None)
    assert ledger.unknown_cost_calls_since("o/r", T0) == 1
    # Unknown adds nothing to the known spend.
    assert ledger.spent_since("o/r", T0) == pytest.approx(0.5)


def test_refused_call_is_not_an_unknown_cost(ledger: SqlLedger) -> None:
    task_id = ledger.start_task(repo="o/r", task=_task(), start_tier="junior", ceiling="junior")
    ledger.record_call(task_id, None, _call(None, outcome="refused"))
    ledger.finish_task(
        task_id,
        status=Status.BUDGET_STOP,
        reason="budget",
        branch=None,
        cost_usd=0.0,
        senior_cost_usd=None,
    )
    assert ledger.get_task(task_id).cost_unknown is False
    assert ledger.unknown_cost_calls_since("o/r", T0) == 0


@pytest.mark.parametrize(
    ("repo", "since", "expected"),
    [
        ("o/r", T0, 1.0 + 2.0 + 4.0),
        ("o/r", T0 + timedelta(hours=1), 2.0 + 4.0),  # at the boundary counts
        ("o/r", T0 + timedelta(hours=1, seconds=1), 4.0),
        ("o/r", T0 + timedelta(days=1), 0.0),
        ("other/repo", T0, 8.0),
        ("nobody/else", T0, 0.0),
        # T0 + 13h written in another zone.
        ("o/r", datetime(2025, 3, 1, 20, 0, tzinfo=timezone(timedelta(hours=-5))), 4.0),
    ],
)
def test_spent_since_respects_repo_and_time(
    ledger: SqlLedger, clock: Clock, repo: str, since: datetime, expected: float
) -> None:
    ours = ledger.start_task(repo="o/r", task=_task(), start_tier="junior", ceiling="junior")
    theirs = ledger.start_task(
        repo="other/repo", task=_task(), start_tier="junior", ceiling="junior"
    )
    for offset, task_id, cost in [
        (timedelta(0), ours, 1.0),
        (timedelta(hours=1), ours, 2.0),
        (timedelta(hours=1), ours, None),
        (timedelta(hours=13), ours, 4.0),
        (timedelta(hours=13), theirs, 8.0),
    ]:
        clock.now = T0 + offset
        ledger.record_call(task_id, None, _call(cost))
    assert ledger.spent_since(repo, since) == pytest.approx(expected)


def test_unknown_ids_are_reported(ledger: SqlLedger) -> None:
    with pytest.raises(LookupError):
        ledger.finish_attempt(
            999, outcome=Outcome.GREEN, detail="", commit_sha=None, senior_cost_usd=None
        )
    with pytest.raises(LookupError):
        ledger.finish_task(
            999, status=Status.DONE, reason="", branch=None, cost_usd=None, senior_cost_usd=None
        )
    with pytest.raises(LookupError):
        ledger.get_task(999)


def test_two_ledgers_on_one_database_from_two_threads(db_url: str) -> None:
    """Two processes' worth of ledgers writing at once: no "database is locked"."""
    rounds = 25
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def work(name: str) -> None:
        try:
            with SqlLedger(db_url) as led:
                start.wait()
                for i in range(rounds):
                    task_id = led.start_task(
                        repo=name, task=_task(), start_tier="intern", ceiling="junior"
                    )
                    attempt = led.start_attempt(task_id, number=1, tier="intern")
                    led.spent_since(name, T0)
                    led.record_call(task_id, attempt, _call(0.01))
                    led.finish_attempt(
                        attempt,
                        outcome=Outcome.GREEN,
                        detail=str(i),
                        commit_sha=None,
                        senior_cost_usd=0.1,
                    )
                    led.finish_task(
                        task_id,
                        status=Status.DONE,
                        reason="",
                        branch=None,
                        cost_usd=0.01,
                        senior_cost_usd=0.1,
                    )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(f"repo/{n}",)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    with SqlLedger(db_url) as led:
        for repo in ("repo/a", "repo/b"):
            assert led.spent_since(repo, T0) == pytest.approx(rounds * 0.01)
        rows = led.report_rows()
        assert len(rows.tasks) == 2 * rounds
        assert {t.status for t in rows.tasks} == {"done"}


def test_a_new_sqlite_ledger_waits_for_a_writer_to_switch_to_wal(tmp_path: Path) -> None:
    """The switch to WAL needs the file to itself, and SQLite refuses it at once (no busy
    handler) while another connection writes: the ledger waits for the writer instead."""
    path = tmp_path / "ledger.db"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("CREATE TABLE other (n INTEGER)")
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO other VALUES (1)")  # the write lock, journal mode DELETE
    opened: list[object] = []

    def open_ledger() -> None:
        try:
            with SqlLedger(f"sqlite:///{path}") as led:
                opened.append(led.spent_since("r", T0))
        except Exception as exc:
            opened.append(exc)

    thread = threading.Thread(target=open_ledger)
    thread.start()
    thread.join(timeout=0.5)
    assert thread.is_alive() and opened == []  # waiting for the writer, not failed
    writer.execute("COMMIT")
    writer.close()
    thread.join(timeout=30)
    assert len(opened) == 1 and not isinstance(opened[0], Exception), opened
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone() == ("wal",)
