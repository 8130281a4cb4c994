"""The orchestrator on GitHub: `tierbot serve` and a worker against the emulator, over HTTP."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.github_emulator import GitHubEmulator
from tests.support.model_server import ScriptedModelServer, reply, slow
from tests.support.repos import tier_config
from tests.support.server import TierbotProcesses, wait_until
from tests.test_e2e_github import REPO, SECRET, labels, pulls, status_comments, wait_finished
from tests.test_orchestrator_local import (
    DOCS,
    FILES,
    GOOD_DISCOUNT,
    ISSUE,
    WRONG_DISCOUNT,
    plan_reply,
)

pytest_plugins = ["tests.support.github_emulator.fixtures"]
CHECK = f"{sys.executable} -m pytest -q -p no:cacheprovider"


@pytest.fixture
def models() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer() as server:
        yield server


@pytest.fixture
def tierbot(tmp_path: Path, github_emulator: GitHubEmulator) -> Iterator[TierbotProcesses]:
    procs = TierbotProcesses(
        tmp_path,
        {
            "TIERBOT_WEBHOOK_SECRET": SECRET,
            "TIERBOT_APP_ID": str(github_emulator.app_id),
            "TIERBOT_PRIVATE_KEY": github_emulator.private_key_pem.decode(),
            "TIERBOT_GITHUB_API_URL": github_emulator.api_url,
        },
    )
    github_emulator.set_webhook(procs.url, SECRET)
    procs.start_web()
    try:
        yield procs
    finally:
        procs.stop()


def make_repo(emulator: GitHubEmulator, models_url: str) -> None:
    emulator.create_repo(
        REPO, {**FILES, ".github/tierbot.yml": tier_config(models_url, check=CHECK)}
    )
    emulator.add_collaborator(REPO, "alice", "write")


def branch_log(emulator: GitHubEmulator, issue: int) -> list[str]:
    bare = emulator.repo(REPO).path
    out = subprocess.run(
        [
            "git",
            "log",
            "--reverse",
            "--format=%(trailers:key=Tierbot-Subtask,valueonly,separator=)",
            f"main..tierbot/issue-{issue}",
        ],
        cwd=bare,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.split()


@pytest.mark.parametrize("first", ["good", "red"])
def test_feature_label_plans_one_pr_and_red_ci_escalates_only_its_subtask(
    github_emulator, tierbot, models: ScriptedModelServer, first
):
    hard = (
        [reply(GOOD_DISCOUNT)] if first == "good" else [reply(WRONG_DISCOUNT), reply(GOOD_DISCOUNT)]
    )
    models.script("senior-model", [reply(plan_reply()), *hard])
    models.script("intern-model", [reply(DOCS)])
    make_repo(github_emulator, models.url)
    title, body = ISSUE.split("\n", 1)
    issue = github_emulator.open_issue(REPO, title, body=body)
    tierbot.start_worker()
    github_emulator.label_issue(REPO, issue.number, "tierbot:feature", sender="alice")

    wait_finished(github_emulator, tierbot, issue.number, timeout=240)
    assert "tierbot:done" in labels(github_emulator, issue.number), tierbot.logs()
    [pr] = pulls(github_emulator)
    assert pr.pull.head_ref == f"tierbot/issue-{issue.number}"
    assert "| `discount` Apply a coupon to a price (hard) | feature |" in pr.body
    subtasks = branch_log(github_emulator, issue.number)
    expected = ["coupon", "discount", "discount-tests", "editorconfig", "docs"]
    if first == "red":
        expected.append("discount")  # only the charged subtask committed again
    assert subtasks == expected
    [comment] = status_comments(github_emulator, issue.number)
    assert "feature — done" in comment.body and "all on senior" in comment.body
    assert len(models.requests_for("senior-model")) == (2 if first == "good" else 3)


def test_a_worker_killed_mid_plan_resumes_without_a_second_commit(
    github_emulator, tierbot, models: ScriptedModelServer
):
    models.script("senior-model", [reply(plan_reply()), reply(GOOD_DISCOUNT)])
    models.script("intern-model", [slow(4, then=reply(DOCS)), reply(DOCS)])
    make_repo(github_emulator, models.url)
    title, body = ISSUE.split("\n", 1)
    issue = github_emulator.open_issue(REPO, title, body=body)
    first = tierbot.start_worker(lease=3)
    github_emulator.label_issue(REPO, issue.number, "tierbot:feature", sender="alice")
    wait_until(
        lambda: models.requests_for("intern-model"),
        timeout=120,
        what=lambda: f"the docs subtask's call\n{tierbot.logs()}",
    )
    first.send_signal(signal.SIGKILL)
    first.wait()
    tierbot.start_worker(lease=3)

    wait_finished(github_emulator, tierbot, issue.number, timeout=240)
    assert "tierbot:done" in labels(github_emulator, issue.number), tierbot.logs()
    assert len(pulls(github_emulator)) == 1
    assert len(status_comments(github_emulator, issue.number)) == 1
    # The subtasks committed before the kill were not run again; the planner was asked once.
    assert branch_log(github_emulator, issue.number) == [
        "coupon",
        "discount",
        "discount-tests",
        "editorconfig",
        "docs",
    ]
    assert len(models.requests_for("senior-model")) == 2
