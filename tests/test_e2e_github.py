"""Label an issue, get a PR: the real intake and worker processes against the GitHub emulator.

Everything crosses real loopback HTTP: the emulator signs webhooks to ``tierbot serve``,
workers clone and push over git smart HTTP, CI runs in the emulator and reports back.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.core.state import decode_marker
from tests.support.github_emulator import GitHubEmulator, rate_limited, server_error
from tests.support.github_emulator.faults import secondary_rate_limited
from tests.support.model_server import ScriptedModelServer, reply, slow
from tests.support.repos import (
    CALC,
    GOOD_MUL,
    MUL_TEST,
    WRONG_MUL,
    WRONG_MUL2,
    tier_config,
)
from tests.support.server import TierbotProcesses, serving_app, wait_until

pytest_plugins = ["tests.support.github_emulator.fixtures"]

REPO = "octo/shop"
SECRET = "e2e-webhook-secret"
GOOD, WRONG, WRONG2 = GOOD_MUL, WRONG_MUL, WRONG_MUL2
CHECK = f"{sys.executable} -m pytest -q -p no:cacheprovider"


@pytest.fixture
def models() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer() as server:
        yield server


@pytest.fixture
def tierbot(tmp_path: Path, github_emulator: GitHubEmulator) -> Iterator[TierbotProcesses]:
    with serving_app(tmp_path, github_emulator, SECRET) as procs:
        yield procs


def make_repo(emulator: GitHubEmulator, models_url: str, files: dict[str, str]) -> None:
    emulator.create_repo(
        REPO, {**files, ".github/tierbot.yml": tier_config(models_url, check=CHECK)}
    )
    emulator.add_collaborator(REPO, "alice", "write")


def labels(emulator: GitHubEmulator, number: int) -> set[str]:
    return {label.name for label in emulator.repo(REPO).issues[number].labels}


def pulls(emulator: GitHubEmulator) -> list:
    return [i for i in emulator.repo(REPO).issues.values() if i.pull is not None]


def status_comments(emulator: GitHubEmulator, number: int) -> list:
    issue = emulator.repo(REPO).issues[number]
    return [c for c in issue.comments if decode_marker(c.body) is not None]


def finished(emulator: GitHubEmulator, number: int) -> bool:
    return bool(labels(emulator, number) & {"tierbot:done", "tierbot:needs-human"})


def wait_finished(
    emulator: GitHubEmulator, procs: TierbotProcesses, number: int, *, timeout: float
) -> None:
    """Wait for the done or needs-human label; on a time-out, show the processes' logs."""
    wait_until(
        lambda: finished(emulator, number),
        timeout=timeout,
        what=lambda: f"the task to end\n{procs.logs()}",
    )


def test_template_tier_pr_goes_green_for_free(github_emulator, tierbot, models):
    make_repo(github_emulator, models.url, {"calc.py": CALC, "tests/__init__.py": ""})
    issue = github_emulator.open_issue(REPO, "Add skeleton tests for calc.py")
    tierbot.start_worker()
    github_emulator.label_issue(REPO, issue.number, "tierbot:tests", sender="alice")

    wait_finished(github_emulator, tierbot, issue.number, timeout=90)
    assert labels(github_emulator, issue.number) >= {"tierbot:tests", "tierbot:done"}
    [pr] = pulls(github_emulator)
    assert pr.pull.head_ref == f"tierbot/issue-{issue.number}"
    assert f"Closes #{issue.number}" in (pr.body or "")
    wait_until(
        lambda: "tierbot:done" in {label.name for label in pr.labels},
        timeout=10,
        what="the done label on the pull request",
    )
    [comment] = status_comments(github_emulator, issue.number)
    assert "done" in comment.body and "$0.0000" in comment.body
    assert models.requests == []
    # No installation token the worker was given leaks into its logs or the ledger.
    tokens = list(github_emulator._need()[0].tokens)
    assert tokens
    ledger_bytes = (tierbot.workdir / "tierbot.sqlite3").read_bytes()
    for wal in tierbot.workdir.glob("tierbot.sqlite3-*"):
        ledger_bytes += wal.read_bytes()
    logs = tierbot.logs()
    for token in tokens:
        assert token not in logs and token.encode() not in ledger_bytes


def test_red_intern_retries_with_the_log_then_junior_goes_green(github_emulator, tierbot, models):
    models.script("intern-model", [reply(WRONG), reply(WRONG2)])
    models.script("junior-model", [reply(GOOD)])
    make_repo(github_emulator, models.url, {"calc.py": CALC, "tests/test_calc.py": MUL_TEST})
    issue = github_emulator.open_issue(REPO, "Add mul(a, b) to calc.py")
    tierbot.start_worker()
    github_emulator.label_issue(REPO, issue.number, "tierbot:boilerplate", sender="alice")

    wait_finished(github_emulator, tierbot, issue.number, timeout=120)
    assert "tierbot:done" in labels(github_emulator, issue.number)
    assert len(pulls(github_emulator)) == 1
    [comment] = status_comments(github_emulator, issue.number)
    for row in ("| template | declined", "| intern | check-failed", "| junior | green"):
        assert row in comment.body
    retry_prompt = models.requests_for("intern-model")[1].messages[-1]["content"]
    assert "assert 5 == 6" in retry_prompt  # the CI log excerpt reached the model


def test_label_from_a_user_without_write_access_does_nothing(github_emulator, tierbot, models):
    make_repo(github_emulator, models.url, {"calc.py": CALC})
    github_emulator.add_collaborator(REPO, "mallory", "read")
    issue = github_emulator.open_issue(REPO, "Add skeleton tests for calc.py")
    tierbot.start_worker()
    github_emulator.label_issue(REPO, issue.number, "tierbot:tests", sender="mallory")
    github_emulator.wait_for_webhooks()

    from bot.adapters.github_tasks import IssueTaskStore
    from bot.adapters.ledger import SqlLedger

    store = IssueTaskStore(SqlLedger(tierbot.env["TIERBOT_DB_URL"]))
    wait_until(lambda: store.refusals(REPO), timeout=30, what="the refusal to be recorded")
    [refusal] = store.refusals(REPO)
    assert refusal.sender == "mallory" and "read access" in refusal.reason
    assert pulls(github_emulator) == [] and status_comments(github_emulator, issue.number) == []
    assert models.requests == []


def test_redeliveries_and_duplicates_make_one_pr_and_one_comment(github_emulator, tierbot, models):
    make_repo(github_emulator, models.url, {"calc.py": CALC, "tests/__init__.py": ""})
    issue = github_emulator.open_issue(REPO, "Add skeleton tests for calc.py")
    github_emulator.label_issue(REPO, issue.number, "tierbot:tests", sender="alice")
    github_emulator.wait_for_webhooks()
    [labeled] = github_emulator.deliveries("issues", "labeled")
    for _ in range(20):
        github_emulator.redeliver(labeled.guid)
    github_emulator.deliver("issues", labeled.body)  # the same event under a new delivery id
    tierbot.start_worker()

    wait_finished(github_emulator, tierbot, issue.number, timeout=90)
    github_emulator.wait_for_ci()
    github_emulator.wait_for_webhooks()
    assert len(pulls(github_emulator)) == 1
    assert len(status_comments(github_emulator, issue.number)) == 1


def test_a_worker_killed_mid_job_loses_nothing(github_emulator, tierbot, models):
    models.script("junior-model", [slow(4, then=reply(GOOD)), reply(GOOD)])
    make_repo(github_emulator, models.url, {"calc.py": CALC, "tests/test_calc.py": MUL_TEST})
    issue = github_emulator.open_issue(REPO, "Implement mul(a, b) in calc.py")
    first = tierbot.start_worker(lease=3)
    github_emulator.label_issue(REPO, issue.number, "tierbot:change", sender="alice")
    wait_until(
        lambda: models.requests_for("junior-model"),
        timeout=60,
        what=lambda: f"the first model call\n{tierbot.logs()}",
    )
    first.send_signal(signal.SIGKILL)
    first.wait()
    tierbot.start_worker(lease=3)

    wait_finished(github_emulator, tierbot, issue.number, timeout=120)
    assert "tierbot:done" in labels(github_emulator, issue.number)
    assert len(pulls(github_emulator)) == 1
    assert len(status_comments(github_emulator, issue.number)) == 1


def test_github_faults_are_retried_and_the_task_completes(github_emulator, tierbot, models):
    make_repo(github_emulator, models.url, {"calc.py": CALC, "tests/__init__.py": ""})
    issue = github_emulator.open_issue(REPO, "Add skeleton tests for calc.py")
    github_emulator.faults.add("POST", "*/repos/octo/shop/pulls", server_error(), times=2)
    github_emulator.faults.add(
        "POST", "*/repos/octo/shop/issues/*/comments", rate_limited(retry_after=1)
    )
    github_emulator.faults.add(
        "GET", "*/repos/octo/shop/collaborators/*", secondary_rate_limited(retry_after=1)
    )
    tierbot.start_worker()
    github_emulator.label_issue(REPO, issue.number, "tierbot:tests", sender="alice")

    wait_finished(github_emulator, tierbot, issue.number, timeout=120)
    assert "tierbot:done" in labels(github_emulator, issue.number)
    assert len(pulls(github_emulator)) == 1


def test_broken_repo_config_gets_one_explaining_comment(github_emulator, tierbot, models):
    github_emulator.create_repo(REPO, {"calc.py": CALC, ".github/tierbot.yml": "budgett: 1\n"})
    github_emulator.add_collaborator(REPO, "alice", "write")
    issue = github_emulator.open_issue(REPO, "Add skeleton tests for calc.py")
    tierbot.start_worker()
    github_emulator.label_issue(REPO, issue.number, "tierbot:tests", sender="alice")

    def commented() -> list:
        return [
            c
            for c in github_emulator.repo(REPO).issues[issue.number].comments
            if "tierbot:config-error" in c.body
        ]

    wait_until(commented, timeout=60, what=lambda: f"the config comment\n{tierbot.logs()}")
    [comment] = commented()
    assert ".github/tierbot.yml" in comment.body and "`budgett`" in comment.body
    assert "allowed: " in comment.body.lower()
    assert pulls(github_emulator) == []


def test_a_workflow_edit_is_refused_recorded_and_escalated(github_emulator, tierbot, models):
    sneaky = "### .github/workflows/ci.yml\n```yaml\non: push\njobs: {}\n```\n"
    models.script("intern-model", [reply(sneaky)])
    models.script("junior-model", [reply(GOOD)])
    make_repo(github_emulator, models.url, {"calc.py": CALC, "tests/test_calc.py": MUL_TEST})
    issue = github_emulator.open_issue(REPO, "Add mul(a, b) to calc.py")
    tierbot.start_worker()
    github_emulator.label_issue(REPO, issue.number, "tierbot:boilerplate", sender="alice")

    wait_finished(github_emulator, tierbot, issue.number, timeout=120)
    [comment] = status_comments(github_emulator, issue.number)
    assert comment.body.count("| intern | policy |") == 2
    assert "is protected" in comment.body and "| junior | green |" in comment.body
    [pr] = pulls(github_emulator)
    tree = subprocess.run(
        ["git", "ls-tree", "-r", "--name-only", pr.pull.head_sha],
        cwd=github_emulator.repo(REPO).path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert ".github/workflows" not in tree


def test_removing_the_label_cancels_the_task(github_emulator, tierbot, models):
    slow_check = f"sleep 3 && {CHECK}"
    github_emulator.create_repo(
        REPO,
        {
            "calc.py": CALC,
            "tests/__init__.py": "",
            ".github/tierbot.yml": tier_config(models.url, check=slow_check),
        },
    )
    github_emulator.add_collaborator(REPO, "alice", "write")
    issue = github_emulator.open_issue(REPO, "Add skeleton tests for calc.py")
    tierbot.start_worker()
    github_emulator.label_issue(REPO, issue.number, "tierbot:tests", sender="alice")
    wait_until(lambda: pulls(github_emulator), timeout=60, what=lambda: f"the PR\n{tierbot.logs()}")
    github_emulator.unlabel_issue(REPO, issue.number, "tierbot:tests", sender="alice")

    def cancelled() -> bool:
        comments = status_comments(github_emulator, issue.number)
        return bool(comments) and "cancelled" in comments[0].body

    wait_until(cancelled, timeout=60, what=lambda: f"the cancellation\n{tierbot.logs()}")
    github_emulator.wait_for_ci()
    github_emulator.wait_for_webhooks()
    assert not finished(github_emulator, issue.number)  # green CI after cancelling: no label
    assert "cancelled" in status_comments(github_emulator, issue.number)[0].body


def test_ceiling_on_red_ci_needs_a_human_and_gets_a_senior_diagnosis(
    github_emulator, tierbot, models
):
    wrong = [reply(WRONG), reply(WRONG2)]
    models.script("intern-model", wrong)
    models.script(
        "junior-model",
        [reply(WRONG2.replace("a - b", "a ** b")), reply(WRONG2.replace("a - b", "a // b"))],
    )
    diagnosis = {
        "likely_cause": "mul adds instead of multiplying.",
        "evidence": ["E       assert 5 == 6"],
        "fix": None,
    }
    models.script("senior-model", [reply("```json\n" + json.dumps(diagnosis) + "\n```")])
    make_repo(github_emulator, models.url, {"calc.py": CALC, "tests/test_calc.py": MUL_TEST})
    issue = github_emulator.open_issue(REPO, "Add mul(a, b) to calc.py")
    tierbot.start_worker()
    github_emulator.label_issue(REPO, issue.number, "tierbot:boilerplate", sender="alice")

    wait_finished(github_emulator, tierbot, issue.number, timeout=180)
    assert "tierbot:needs-human" in labels(github_emulator, issue.number)
    [pr] = pulls(github_emulator)

    def diagnosed() -> list:
        return [
            c
            for c in github_emulator.repo(REPO).issues[pr.number].comments
            if "mul adds instead of multiplying" in c.body
        ]

    wait_until(diagnosed, timeout=30, what=lambda: f"the diagnosis comment\n{tierbot.logs()}")
    assert "assert 5 == 6" in diagnosed()[0].body
    senior_prompt = models.requests_for("senior-model")[0].messages[-1]["content"]
    assert "assert" in senior_prompt
