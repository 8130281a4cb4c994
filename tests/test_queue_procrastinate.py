"""The PostgreSQL queue on procrastinate: one transaction for delivery and job, collapsed
duplicates, a kill between the two writes, end to end with several workers, and budgets held
across worker processes."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.adapters.ledger import SqlLedger
from bot.adapters.queue_procrastinate import ProcrastinateQueue
from bot.adapters.queue_rows import Incoming
from bot.config import BudgetSpec
from bot.core.budget import Scope
from tests.support.databases import postgres_schema_url
from tests.support.github_emulator import GitHubEmulator
from tests.support.server import TierbotProcesses, wait_until
from tests.test_e2e_github import (
    CALC,
    REPO,
    SECRET,
    labels,
    make_repo,
    pulls,
    status_comments,
    wait_finished,
)

pytest_plugins = ["tests.support.github_emulator.fixtures"]
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from postgres_schema_url()


@pytest.fixture
def queue(pg_url: str) -> Iterator[ProcrastinateQueue]:
    with SqlLedger(pg_url) as ledger:
        yield ProcrastinateQueue(ledger)


def item(delivery: str, *, key: str = "octo/shop#1", n: int = 1) -> Incoming:
    return Incoming(delivery, "issues", "labeled", key, {"n": n, "delivery": "x"})


def jobs(url: str) -> list[tuple[int, str, str, str]]:
    with SqlLedger(url) as ledger, ledger.read() as session:
        rows = session.execute(
            text("SELECT id, lock, queueing_lock, status::text FROM procrastinate_jobs ORDER BY id")
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


def test_delivery_and_job_are_stored_together_and_duplicates_collapse(
    queue: ProcrastinateQueue, pg_url: str
):
    [first] = queue.accept_many([item("d1")])
    assert first.outcome == "queued" and first.job_id is not None
    assert queue.accept_many([item("d1")])[0].outcome == "duplicate"  # a redelivery
    # The same event under a new delivery id while the first waits: collapsed.
    assert queue.accept_many([item("d2")])[0].outcome == "duplicate"
    # Another event of the same issue is its own job, under the same per-issue lock.
    assert queue.accept_many([item("d3", n=2)])[0].outcome == "queued"
    rows = jobs(pg_url)
    assert [r[1] for r in rows] == ["octo/shop#1", "octo/shop#1"]
    assert all(r[3] == "todo" for r in rows)
    assert queue.delivery_status("d1") == "queued"
    assert queue.stats().depth == 2


def test_a_batch_with_a_collapsed_duplicate_stores_its_neighbours(
    queue: ProcrastinateQueue, pg_url: str
):
    out = queue.accept_many([item("a"), item("b"), item("c", key="octo/shop#2", n=3)])
    assert [o.outcome for o in out] == ["queued", "duplicate", "queued"]
    assert len(jobs(pg_url)) == 2
    assert queue.delivery_status("b") == "queued"  # stored, its job is a's


KILL_BETWEEN = """
import os, signal, sys
from bot.adapters.ledger import SqlLedger
from bot.adapters.queue_procrastinate import ProcrastinateQueue
from bot.adapters.queue_rows import Incoming

queue = ProcrastinateQueue(SqlLedger(sys.argv[1]))

def killed(item, connection):
    # The delivery row is written (uncommitted); the process dies before the job is.
    print("delivery written", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)

queue._defer = killed
queue.accept_many([Incoming("d-kill", "issues", "labeled", "octo/shop#1", {"n": 1})])
print("answered", flush=True)
"""


def test_a_kill_between_delivery_and_job_stores_neither_and_a_redelivery_works(
    queue: ProcrastinateQueue, pg_url: str
):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(KILL_BETWEEN), pg_url],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert "delivery written" in proc.stdout and "answered" not in proc.stdout  # no 202
    assert queue.delivery_status("d-kill") is None
    assert jobs(pg_url) == []
    # GitHub shows the delivery failed; its redelivery is stored whole.
    [again] = queue.accept_many([Incoming("d-kill", "issues", "labeled", "octo/shop#1", {})])
    assert again.outcome == "queued"
    assert len(jobs(pg_url)) == 1 and queue.delivery_status("d-kill") == "queued"


def test_serve_and_two_workers_on_postgresql_make_one_pr(
    tmp_path: Path, github_emulator: GitHubEmulator, model_server, pg_url: str
):
    make_repo(github_emulator, model_server.url, {"calc.py": CALC, "tests/__init__.py": ""})
    procs = TierbotProcesses(
        tmp_path,
        {
            "TIERBOT_DB_URL": pg_url,
            "TIERBOT_WEBHOOK_SECRET": SECRET,
            "TIERBOT_APP_ID": str(github_emulator.app_id),
            "TIERBOT_PRIVATE_KEY": github_emulator.private_key_pem.decode(),
            "TIERBOT_GITHUB_API_URL": github_emulator.api_url,
        },
    )
    github_emulator.set_webhook(procs.url, SECRET)
    procs.start_web()
    try:
        issue = github_emulator.open_issue(REPO, "Add skeleton tests for calc.py")
        github_emulator.label_issue(REPO, issue.number, "tierbot:tests", sender="alice")
        github_emulator.wait_for_webhooks()
        [labeled] = github_emulator.deliveries("issues", "labeled")
        for _ in range(5):
            github_emulator.redeliver(labeled.guid)
        procs.start_worker(lease=6)
        procs.start_worker(lease=6)
        wait_finished(github_emulator, procs, issue.number, timeout=120)
        github_emulator.wait_for_ci()
        github_emulator.wait_for_webhooks()
        assert "tierbot:done" in labels(github_emulator, issue.number)
        assert len(pulls(github_emulator)) == 1
        assert len(status_comments(github_emulator, issue.number)) == 1
        assert all(w.poll() is None for w in procs.workers), procs.logs()

        def drained() -> bool:
            with SqlLedger(pg_url) as ledger, ledger.read() as session:
                return not session.scalar(
                    text(
                        "SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing')"
                    )
                )

        wait_until(drained, timeout=60, what="the follow-up jobs to finish")
    finally:
        procs.stop()


CAP = 1.0
WORST = 0.3


def _spend(url: str, n: int, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    budget = BudgetSpec(per_task_usd=100.0, per_day_usd=CAP, per_month_usd=100.0)
    admitted = 0
    with SqlLedger(url) as ledger:
        for i in range(n):
            scope = Scope(repo="octo/shop", key=f"task-{os.getpid()}-{i}", account="octo")
            admission = ledger.reserve(scope, budget, WORST, ttl_s=600)
            if admission.hold_id is not None:
                admitted += 1
                ledger.settle(admission.hold_id, WORST)
    out.put(admitted)


def test_the_day_cap_holds_across_worker_processes(pg_url: str):
    with SqlLedger(pg_url) as ledger:
        ledger.spent(Scope(repo="octo/shop", key="k", account="octo"))  # makes the schema
    ctx = multiprocessing.get_context("spawn")
    out: multiprocessing.Queue = ctx.Queue()  # type: ignore[type-arg]
    workers = [ctx.Process(target=_spend, args=(pg_url, 2, out)) for _ in range(4)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(timeout=120)
        assert p.exitcode == 0
    admitted = sum(out.get(timeout=5) for _ in workers)
    assert admitted == int(CAP // WORST)  # 8 tasks asked; 3 fit under the cap
    with SqlLedger(pg_url) as ledger:
        spent = ledger.spent(Scope(repo="octo/shop", key="k", account="octo"))
    assert spent.today_usd <= CAP
