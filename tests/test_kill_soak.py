"""Workers SIGKILLed at random moments lose no task, duplicate nothing and leave nothing running.

Real processes throughout: ``tierbot serve --workers 0`` and several ``tierbot worker``
processes against the GitHub emulator and the scripted model server, on SQLite and on
PostgreSQL. Run with ``-s`` to see the figures of each soak.
"""

from __future__ import annotations

import random
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from bot.adapters.ledger import AttemptRowORM, SqlLedger, TaskRowORM
from bot.adapters.queue_rows import DONE, JobORM
from bot.queue_port import open_queue, uses_procrastinate
from tests.support.databases import database_url
from tests.support.github_emulator import GitHubEmulator
from tests.support.model_server import ScriptedModelServer, reply, slow
from tests.support.recovery import start_tierbot, unfinished_rows
from tests.support.server import TierbotProcesses, wait_until
from tests.test_e2e_github import (
    CALC,
    GOOD,
    REPO,
    labels,
    make_repo,
    pulls,
    status_comments,
    wait_finished,
)

pytest_plugins = ["tests.support.github_emulator.fixtures"]

NEG = "\n\ndef neg(a):\n    return -a\n"  # untested: the tests issues have template work
SEED = 20261128
ISSUES = 20
KILLS = 24
WORKERS = 3
LEASE_S = 3.0
ADD_TEST = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from database_url(request.param, tmp_path)


def working_pids(db_url: str) -> list[int]:
    """Worker processes running a job now (a worker is named ``host:pid/token``): the lease
    owners of the embedded queue, the delivery's worker of a ``doing`` procrastinate job."""
    doing = (
        "SELECT d.worker FROM deliveries d JOIN procrastinate_jobs j ON j.id = d.job_ref "
        "WHERE j.status = 'doing'"
    )
    with SqlLedger(db_url) as ledger, ledger.read() as session:
        if uses_procrastinate(db_url):
            owners = session.scalars(text(doing))
        else:
            owners = session.scalars(select(JobORM.lease_owner).where(JobORM.state == "running"))
        return sorted({int(o.split("/")[0].rsplit(":", 1)[1]) for o in owners if o})


def unfinished_jobs(db_url: str) -> dict[str, int]:
    """Jobs by state, those that ended well left out: empty once the queue has drained."""
    with SqlLedger(db_url) as ledger:
        by_state = open_queue(ledger).stats().jobs_by_state
    return {state: n for state, n in by_state.items() if state not in {DONE, "succeeded"}}


def kill_at_random(
    procs: TierbotProcesses, db_url: str, rng: random.Random, kills: int
) -> tuple[int, int]:
    """SIGKILL workers at random moments, a new one started for each: one holding a job's
    lease when one does within a few seconds, else any. Returns (kills, kills mid-job)."""
    done = busy = 0
    while done < kills:
        time.sleep(rng.uniform(0.1, 1.2))
        deadline = time.monotonic() + 4
        while True:
            alive = {w.pid: w for w in procs.workers if w.poll() is None}
            working = [pid for pid in working_pids(db_url) if pid in alive]
            if working or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        victim = alive[rng.choice(working)] if working else rng.choice(list(alive.values()))
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        done, busy = done + 1, busy + bool(working)
        procs.start_worker(lease=LEASE_S)
    return done, busy


def ledger_figures(db_url: str) -> dict[str, int]:
    with SqlLedger(db_url) as ledger, ledger.read() as session:
        return {
            "interrupted attempts": session.scalar(
                select(func.count()).where(AttemptRowORM.outcome == "interrupted")
            ),
            "superseded tasks": session.scalar(
                select(func.count()).where(TaskRowORM.status == "interrupted")
            ),
        }


def test_kill_soak_every_issue_gets_exactly_one_pr(
    tmp_path: Path, github_emulator: GitHubEmulator, model_server: ScriptedModelServer, db_url: str
):
    rng, models = random.Random(SEED), model_server
    models.script("junior-model", [slow(0.2, then=reply(GOOD))])
    make_repo(
        github_emulator,
        models.url,
        # neg() is untested, so the tests issues are the template tier's work (a module whose
        # every name is tested would end nothing-to-do, with no pull request).
        {"calc.py": CALC + NEG, "tests/__init__.py": "", "tests/test_add.py": ADD_TEST},
    )
    procs = start_tierbot(tmp_path, github_emulator, db_url)
    try:
        started = time.monotonic()
        for _ in range(WORKERS):
            procs.start_worker(lease=LEASE_S)
        numbers = []
        for n in range(ISSUES):
            # Half free template work, half a paid model call each.
            title, label = (
                ("Add skeleton tests for calc.py", "tierbot:tests")
                if n % 2
                else ("Add mul(a, b) to calc.py", "tierbot:change")
            )
            issue = github_emulator.open_issue(REPO, f"{title} ({n})")
            github_emulator.label_issue(REPO, issue.number, label, sender="alice")
            numbers.append(issue.number)
        kills, busy = kill_at_random(procs, db_url, rng, KILLS)
        killing = time.monotonic() - started
        for number in numbers:
            wait_finished(github_emulator, procs, number, timeout=240)
        github_emulator.wait_for_ci()
        github_emulator.wait_for_webhooks()
        wait_until(
            lambda: not unfinished_jobs(db_url),
            timeout=120,
            what=lambda: f"the queue to drain: {unfinished_jobs(db_url)}\n{procs.logs()}",
        )
        duration = time.monotonic() - started
    finally:
        procs.stop()

    prs = pulls(github_emulator)
    heads = [pr.pull.head_ref for pr in prs]
    comments = {n: len(status_comments(github_emulator, n)) for n in numbers}
    done = [n for n in numbers if "tierbot:done" in labels(github_emulator, n)]
    orphans = unfinished_rows(db_url)
    print(
        f"\nkill soak ({db_url.split(':')[0]}): {ISSUES} issues, {kills} SIGKILLs "
        f"({busy} of a worker holding a job), {ledger_figures(db_url)}, "
        f"{len(prs)} PRs, {len(heads) - len(set(heads))} duplicate PRs, "
        f"{sum(c - 1 for c in comments.values())} duplicate status comments, "
        f"{ISSUES - len(done)} not done, orphan running rows {orphans}, "
        f"{len(models.requests)} model calls for {ISSUES // 2} paid tasks, {duration:.0f} s "
        f"({killing:.0f} s of them killing)"
    )
    assert kills >= KILLS and busy >= KILLS // 2
    assert sorted(heads) == sorted(f"tierbot/issue-{n}" for n in numbers)
    assert done == numbers
    assert set(comments.values()) == {1}
    for n in numbers:
        [comment] = status_comments(github_emulator, n)
        assert "done" in comment.body and "Starting" not in comment.body
    assert orphans == {"tasks": 0, "attempts": 0, "issue_tasks": 0}
