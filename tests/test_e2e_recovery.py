"""A worker killed between its push and its PR, and a job that cannot finish: real processes.

``tierbot serve --workers 0`` and ``tierbot worker`` against the GitHub emulator and the
scripted model server, as in ``test_e2e_github.py``.
"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

from bot.adapters.github_tasks import IssueTaskStore
from bot.adapters.ledger import SqlLedger
from bot.adapters.queue_rows import FAILED, JobORM
from tests.support.github_emulator import GitHubEmulator
from tests.support.github_emulator.faults import Fault
from tests.support.github_emulator.faults import slow as slow_answer
from tests.support.model_server import ScriptedModelServer, reply
from tests.support.recovery import start_tierbot, unfinished_rows
from tests.support.server import wait_until
from tests.test_e2e_github import (
    CALC,
    GOOD,
    MUL_TEST,
    REPO,
    labels,
    make_repo,
    pulls,
    status_comments,
    wait_finished,
)

pytest_plugins = ["tests.support.github_emulator.fixtures"]

LEASE_S = 3.0


def git_head(emulator: GitHubEmulator, branch: str) -> str:
    return subprocess.run(
        ["git", "rev-parse", f"refs/heads/{branch}"],
        cwd=emulator.repo(REPO).path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def test_a_kill_after_the_push_opens_the_pr_without_another_model_call(
    tmp_path: Path, github_emulator: GitHubEmulator, model_server: ScriptedModelServer
):
    models = model_server
    models.script("junior-model", [reply(GOOD)])
    make_repo(github_emulator, models.url, {"calc.py": CALC, "tests/test_calc.py": MUL_TEST})
    issue = github_emulator.open_issue(REPO, "Add mul(a, b) to calc.py")
    branch = f"tierbot/issue-{issue.number}"
    # The worker looks for an existing PR right after its push: hold that answer and kill it.
    held = github_emulator.faults.add("GET", "*/repos/octo/shop/pulls", slow_answer(30))
    url = f"sqlite:///{tmp_path / 'tierbot.sqlite3'}"
    procs = start_tierbot(tmp_path, github_emulator, url)
    try:
        first = procs.start_worker(lease=LEASE_S)
        github_emulator.label_issue(REPO, issue.number, "tierbot:change", sender="alice")
        wait_until(lambda: held.hits, timeout=60, what=lambda: f"the push\n{procs.logs()}")
        first.send_signal(signal.SIGKILL)
        first.wait()
        pushed = git_head(github_emulator, branch)
        assert pulls(github_emulator) == [] and len(models.requests) == 1
        github_emulator.faults.clear()
        procs.start_worker(lease=LEASE_S)
        wait_finished(github_emulator, procs, issue.number, timeout=120)
    finally:
        procs.stop()

    assert "tierbot:done" in labels(github_emulator, issue.number)
    [pr] = pulls(github_emulator)
    assert pr.pull.head_ref == branch and pr.pull.head_sha == pushed
    assert len(models.requests) == 1  # the resumed task found its commit: no second paid call
    [comment] = status_comments(github_emulator, issue.number)
    assert "| junior | green |" in comment.body
    with SqlLedger(url) as ledger:
        item = IssueTaskStore(ledger).get(REPO, issue.number)
        assert item is not None and item.task_id is not None and item.status == "done"
        assert ledger.get_task(item.task_id).status == "done"
        attempts = ledger.attempts(item.task_id)
        assert [(a.tier, a.outcome) for a in attempts] == [("junior", "green")]
    assert unfinished_rows(url) == {"tasks": 0, "attempts": 0, "issue_tasks": 0}


def test_a_job_that_cannot_finish_tells_the_issue_why(
    tmp_path: Path, github_emulator: GitHubEmulator, model_server: ScriptedModelServer
):
    model_server.script("junior-model", [reply(GOOD)])
    make_repo(github_emulator, model_server.url, {"calc.py": CALC, "tests/test_calc.py": MUL_TEST})
    issue = github_emulator.open_issue(REPO, "Add mul(a, b) to calc.py")
    refusal = Fault("status", status=422, message="Validation Failed")
    github_emulator.faults.add("POST", "*/repos/octo/shop/pulls", refusal, times=None)
    url = f"sqlite:///{tmp_path / 'tierbot.sqlite3'}"
    procs = start_tierbot(tmp_path, github_emulator, url)
    try:
        procs.start_worker(lease=LEASE_S)
        github_emulator.label_issue(REPO, issue.number, "tierbot:change", sender="alice")
        wait_finished(github_emulator, procs, issue.number, timeout=120)
    finally:
        procs.stop()

    assert "tierbot:needs-human" in labels(github_emulator, issue.number)
    [comment] = status_comments(github_emulator, issue.number)
    assert "A human is needed: tierbot could not finish this task" in comment.body
    assert "422" in comment.body and "Starting" not in comment.body
    assert len(model_server.requests) == 1 and pulls(github_emulator) == []
    with SqlLedger(url) as ledger, ledger.read() as session:
        [failed] = session.query(JobORM).filter(JobORM.state == FAILED).all()
        assert failed.event == "issues" and failed.attempts == 1  # not retried 5 times
        assert "422" in failed.error
    assert unfinished_rows(url) == {"tasks": 0, "attempts": 0, "issue_tasks": 0}
