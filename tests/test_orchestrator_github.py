"""The orchestrator on GitHub: `tierbot serve` and a worker against the emulator, over HTTP."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.adapters.ledger import REFUSED, ModelCallORM, SqlLedger, TaskRowORM
from bot.core.diagnosis import DIAGNOSIS_MARKER
from tests.support.github_emulator import GitHubEmulator
from tests.support.model_server import ScriptedModelServer, reply, slow
from tests.support.repos import tier_config
from tests.support.server import TierbotProcesses, serving_app, wait_until
from tests.test_e2e_github import REPO, SECRET, labels, pulls, status_comments, wait_finished
from tests.test_kill_soak import unfinished_jobs
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
    with serving_app(tmp_path, github_emulator, SECRET) as procs:
        yield procs


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


# -- a subtask at its ceiling on red CI: the senior diagnosis --------------------------------

# Still imports a module nobody wrote, in different words: a second commit, the same red CI.
WRONG_AGAIN = WRONG_DISCOUNT.replace(", 0)", ", 1)")
CAUSE = "shop/discount.py imports shop.coupons, which does not exist."
DIAGNOSIS = "```json\n" + json.dumps({"likely_cause": CAUSE, "evidence": [], "fix": None}) + "\n```"
# An extra tier only the diagnosis uses, whose one call no per-task budget can pay for.
ORACLE_TIER = """\
  oracle:
    model: openai/oracle-model
    api_base: {url}
    api_key_env: null
    max_tokens: 4000
    context_tokens: 32000
    timeout: 10
    price: {{input_per_mtok: 3000.0, output_per_mtok: 15000.0}}
"""
ORACLE_DIAGNOSES = """\
  debug: {start: oracle, ceiling: oracle, output: comment, attempts: 1}
ladder: [template, intern, junior, senior, oracle]
"""


def start_ceiling_feature(
    emulator: GitHubEmulator, models: ScriptedModelServer, tierbot, *, diagnosis, config=None
) -> int:
    """A plan whose hard subtask commits wrong code twice at senior, its ceiling."""
    models.script(
        "senior-model",
        [reply(plan_reply()), reply(WRONG_DISCOUNT), reply(WRONG_AGAIN), *diagnosis],
    )
    models.script("intern-model", [reply(DOCS)])
    emulator.create_repo(
        REPO, {**FILES, ".github/tierbot.yml": config or tier_config(models.url, check=CHECK)}
    )
    emulator.add_collaborator(REPO, "alice", "write")
    title, body = ISSUE.split("\n", 1)
    issue = emulator.open_issue(REPO, title, body=body)
    emulator.label_issue(REPO, issue.number, "tierbot:feature", sender="alice")
    return issue.number


def diagnosis_comments(emulator: GitHubEmulator) -> list[str]:
    [pr] = pulls(emulator)
    return [c.body for c in pr.comments if DIAGNOSIS_MARKER in c.body]


def debug_calls(db_url: str) -> list[tuple[int | None, str, str, str]]:
    """(parent task, task status, tier, call outcome) of every diagnosis call in the ledger."""
    with SqlLedger(db_url) as ledger, ledger.read() as session:
        rows = session.execute(
            select(TaskRowORM.parent_id, TaskRowORM.status, ModelCallORM.tier, ModelCallORM.outcome)
            .join(ModelCallORM, ModelCallORM.task_id == TaskRowORM.id)
            .where(TaskRowORM.type == "debug")
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def feature_task(db_url: str) -> int:
    """The feature's own task: the plan's parent (its hard subtask is a feature task too)."""
    with SqlLedger(db_url) as ledger, ledger.read() as session:
        query = select(TaskRowORM.id).where(
            TaskRowORM.type == "feature", TaskRowORM.parent_id.is_(None)
        )
        return session.scalars(query).one()


def test_a_subtask_at_its_ceiling_on_red_ci_gets_one_senior_diagnosis(
    github_emulator, tierbot, models: ScriptedModelServer
):
    issue = start_ceiling_feature(github_emulator, models, tierbot, diagnosis=[reply(DIAGNOSIS)])
    tierbot.start_worker()

    wait_finished(github_emulator, tierbot, issue, timeout=240)
    assert "tierbot:needs-human" in labels(github_emulator, issue), tierbot.logs()
    [comment] = status_comments(github_emulator, issue)
    assert "subtask discount reached its ceiling" in comment.body
    assert "no diagnosis" not in comment.body
    [diagnosis] = diagnosis_comments(github_emulator)
    assert CAUSE in diagnosis and "_Cost: $" in diagnosis
    # The diagnosis read the failing check's log and the stopped subtask's files.
    senior = models.requests_for("senior-model")
    assert len(senior) == 4
    prompt = senior[-1].messages[-1]["content"]
    assert "shop/discount.py" in prompt and "shop.coupons" in prompt
    db_url = tierbot.env["TIERBOT_DB_URL"]
    assert debug_calls(db_url) == [(feature_task(db_url), "done", "senior", "ok")]

    # The same CI event again, under its own id and under a new one: no second diagnosis.
    [ci] = github_emulator.deliveries("workflow_run", "completed")[-1:]
    github_emulator.redeliver(ci.guid)
    github_emulator.deliver("workflow_run", ci.body)
    github_emulator.wait_for_webhooks()
    wait_until(lambda: not unfinished_jobs(db_url), timeout=60, what=tierbot.logs)
    assert len(models.requests_for("senior-model")) == 4
    assert len(diagnosis_comments(github_emulator)) == 1
    assert len(debug_calls(db_url)) == 1


def test_a_worker_stopped_during_the_diagnosis_does_not_ask_again(
    github_emulator, tierbot, models: ScriptedModelServer
):
    slow_diagnosis = [slow(6, then=reply(DIAGNOSIS)), reply(DIAGNOSIS)]
    issue = start_ceiling_feature(github_emulator, models, tierbot, diagnosis=slow_diagnosis)
    first = tierbot.start_worker(lease=3)
    wait_until(
        lambda: len(models.requests_for("senior-model")) == 4,
        timeout=240,
        what=lambda: f"the diagnosis call\n{tierbot.logs()}",
    )
    first.send_signal(signal.SIGKILL)
    first.wait()
    tierbot.start_worker(lease=3)

    wait_finished(github_emulator, tierbot, issue, timeout=120)
    assert "tierbot:needs-human" in labels(github_emulator, issue), tierbot.logs()
    # The job ran again on the same check; the diagnosis it had asked for is not asked twice.
    assert len(models.requests_for("senior-model")) == 4
    assert len(status_comments(github_emulator, issue)) == 1


def test_a_diagnosis_the_budget_refuses_still_stops_the_plan_and_says_why(
    github_emulator, tierbot, models: ScriptedModelServer
):
    base = tier_config(models.url, check=CHECK, extra=ORACLE_DIAGNOSES)
    config = base.replace("check:\n", ORACLE_TIER.format(url=models.url) + "check:\n", 1)
    issue = start_ceiling_feature(github_emulator, models, tierbot, diagnosis=[], config=config)
    tierbot.start_worker()

    wait_finished(github_emulator, tierbot, issue, timeout=240)
    assert "tierbot:needs-human" in labels(github_emulator, issue), tierbot.logs()
    [comment] = status_comments(github_emulator, issue)
    assert "subtask discount reached its ceiling" in comment.body
    assert "no diagnosis was posted: the budget refused the model call" in comment.body
    [diagnosis] = diagnosis_comments(github_emulator)
    assert "No diagnosis was posted: the budget refused the model call." in diagnosis
    assert models.requests_for("oracle-model") == []
    db_url = tierbot.env["TIERBOT_DB_URL"]
    assert debug_calls(db_url) == [(feature_task(db_url), "budget-stop", "oracle", REFUSED)]
