"""``tierbot action`` end to end: a simulated Actions runner against the GitHub emulator and the
scripted model server, with ``tierbot action`` run as a subprocess each time a workflow would
start. No database: every run finds the task's state in its status comment."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.action.store import read_block
from bot.core.state import decode_marker
from tests.support.action_runner import Runner
from tests.support.github_emulator import GitHubEmulator
from tests.support.model_server import ScriptedModelServer, reply
from tests.support.repos import CALC, GOOD_MUL, MUL_TEST, WRONG_MUL, WRONG_MUL2, tier_config

pytest_plugins = ["tests.support.github_emulator.fixtures"]

REPO = "octo/shop"
CHECK = f"{sys.executable} -m pytest -q -p no:cacheprovider"


@pytest.fixture
def models() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer() as server:
        yield server


@pytest.fixture
def hub(github_emulator: GitHubEmulator, webhook_receiver: Any) -> GitHubEmulator:
    """The emulator with its webhooks recorded: their payloads are the runner's event files."""
    return github_emulator


def make_repo(emulator: GitHubEmulator, models_url: str, files: dict[str, str]) -> None:
    emulator.create_repo(
        REPO, {**files, ".github/tierbot.yml": tier_config(models_url, check=CHECK)}
    )
    emulator.add_collaborator(REPO, "alice", "write")


def issue_of(emulator: GitHubEmulator, number: int) -> Any:
    return emulator.repo(REPO).issues[number]


def labels(emulator: GitHubEmulator, number: int) -> set[str]:
    return {label.name for label in issue_of(emulator, number).labels}


def pulls(emulator: GitHubEmulator) -> list[Any]:
    return [i for i in emulator.repo(REPO).issues.values() if i.pull is not None]


def status_comments(emulator: GitHubEmulator, number: int) -> list[Any]:
    return [c for c in issue_of(emulator, number).comments if decode_marker(c.body) is not None]


def last_delivery(emulator: GitHubEmulator, event: str, action: str) -> dict[str, Any]:
    emulator.wait_for_webhooks()
    return emulator.deliveries(event, action)[-1].payload


def ci_completed(emulator: GitHubEmulator, head_sha: str) -> dict[str, Any]:
    """The ``workflow_run.completed`` payload of CI on ``head_sha`` (what starts the next run)."""
    emulator.wait_for_ci()
    found = [
        d.payload
        for d in emulator.deliveries("workflow_run", "completed")
        if d.payload["workflow_run"]["head_sha"] == head_sha
    ]
    assert found, f"no CI run completed on {head_sha}"
    return found[-1]


def test_label_to_pr_then_red_ci_resumes_from_the_comment_and_escalates_to_green(
    tmp_path: Path, hub: GitHubEmulator, models: ScriptedModelServer
) -> None:
    models.script("intern-model", [reply(WRONG_MUL), reply(WRONG_MUL2)])
    models.script("junior-model", [reply(GOOD_MUL)])
    make_repo(hub, models.url, {"calc.py": CALC, "tests/test_calc.py": MUL_TEST})
    issue = hub.open_issue(REPO, "Add mul(a, b) to calc.py")
    hub.label_issue(REPO, issue.number, "tierbot:boilerplate", sender="alice")
    runner = Runner(tmp_path, hub, REPO)
    app = runner.app_token_env()
    token = app.pop("token")

    first = runner.run("issues", last_delivery(hub, "issues", "labeled"), token=token, **app)
    assert first.code == 0, first.stderr
    [pr] = pulls(hub)
    assert pr.pull.head_ref == f"tierbot/issue-{issue.number}"
    assert f"Closes #{issue.number}" in (pr.body or "")
    assert first.outputs["status"] == "running"
    assert first.outputs["pull-request"] == str(pr.number)
    assert "| intern |" in first.summary and "this run" in first.summary
    [comment] = status_comments(hub, issue.number)
    block = read_block(comment.body)
    assert block is not None and block["item"]["status"] == "running"
    assert block["ledger"]["model_calls"]["rows"], "the model call's record is in the comment"

    runs = 1
    while not labels(hub, issue.number) & {"tierbot:done", "tierbot:needs-human"}:
        assert runs < 6, "the task did not end"
        payload = ci_completed(hub, pr.pull.head_sha)
        result = runner.run("workflow_run", payload, token=hub.issue_token(REPO), **app)
        assert result.code == 0, result.stderr
        runs += 1

    assert "tierbot:done" in labels(hub, issue.number)
    assert len(pulls(hub)) == 1
    [comment] = status_comments(hub, issue.number)
    for row in ("| template | declined", "| intern | check-failed", "| junior | green"):
        assert row in comment.body
    retry_prompt = models.requests_for("intern-model")[1].messages[-1]["content"]
    assert "assert 5 == 6" in retry_prompt  # the CI log reached the model in a later run
    assert result.outputs["status"] == "done"
    assert "earlier" in result.summary  # calls of earlier runs, read back from the comment
    assert len(models.requests) == 3

    # The spend report, rebuilt from the status comment alone.
    report = runner.run(
        "report",
        None,
        token=hub.issue_token(REPO),
        args=("report", "--github", REPO, "--json"),
        **app,
    )
    assert report.code == 0, report.stderr
    data = json.loads(report.stderr[report.stderr.index("{") :])
    assert data["repo"] == REPO and data["tasks"] == 1
    calls = {(s["tier"], s["calls"]) for s in data["spend"]}
    assert calls == {("template", 1), ("intern", 2), ("junior", 1)}
    [comment] = status_comments(hub, issue.number)
    rows = read_block(comment.body)["ledger"]["model_calls"]
    cost = rows["cols"].index("cost_usd")
    expected = sum(r[cost] for r in rows["rows"])
    assert expected > 0 and data["total"]["usd"] == pytest.approx(expected)
    assert data["status_counts"] == {"done": 1}


def test_the_default_token_runs_the_check_in_the_action_and_says_so(
    tmp_path: Path, hub: GitHubEmulator, models: ScriptedModelServer
) -> None:
    models.script("intern-model", [reply(WRONG_MUL), reply(GOOD_MUL)])
    make_repo(hub, models.url, {"calc.py": CALC, "tests/test_calc.py": MUL_TEST})
    issue = hub.open_issue(REPO, "Add mul(a, b) to calc.py")
    hub.label_issue(REPO, issue.number, "tierbot:boilerplate", sender="alice")
    runner = Runner(tmp_path, hub, REPO)
    token = hub.issue_workflow_token(REPO)
    labeled = last_delivery(hub, "issues", "labeled")

    result = runner.run("issues", labeled, token=token, TIERBOT_DEFAULT_TOKEN=token)

    assert result.code == 0, result.stderr
    # One run took the task to the end: the check ran here, since no CI starts for this PR.
    assert "tierbot:done" in labels(hub, issue.number)
    [pr] = pulls(hub)
    assert pr.user.login == "github-actions[bot]"
    hub.wait_for_ci()
    assert hub.deliveries("workflow_run", "completed") == []
    [comment] = status_comments(hub, issue.number)
    assert "default `GITHUB_TOKEN`" in comment.body and CHECK in comment.body
    for row in ("| intern | check-failed", "| intern | green"):
        assert row in comment.body
    assert "default `GITHUB_TOKEN`" in result.summary
    assert result.outputs["status"] == "done"
    assert result.outputs["pull-request"] == str(pr.number)

    # The same event again (a re-run of the job) changes nothing and calls no model.
    before = (len(issue_of(hub, issue.number).comments), comment.body, len(models.requests))
    again = runner.run("issues", labeled, token=token, TIERBOT_DEFAULT_TOKEN=token)
    assert again.code == 0, again.stderr
    [comment] = status_comments(hub, issue.number)
    after = (len(issue_of(hub, issue.number).comments), comment.body, len(models.requests))
    assert after == before and len(pulls(hub)) == 1
    assert again.outputs["status"] == "done" and again.outputs["cost"] == "0.000000"


def test_a_broken_org_config_gets_one_comment_naming_that_file(
    tmp_path: Path, hub: GitHubEmulator
) -> None:
    hub.create_repo(REPO, {"calc.py": CALC})  # no config of its own
    hub.create_repo("octo/.github", {".github/tierbot.yml": "budget:\n  per_task_usd: lots\n"})
    hub.add_collaborator(REPO, "alice", "write")
    issue = hub.open_issue(REPO, "Add skeleton tests for calc.py")
    hub.label_issue(REPO, issue.number, "tierbot:tests", sender="alice")
    runner = Runner(tmp_path, hub, REPO)
    app = runner.app_token_env()
    labeled = last_delivery(hub, "issues", "labeled")

    for _ in range(2):  # the second run edits the same comment
        result = runner.run(
            "issues", labeled, token=app["token"], **{k: v for k, v in app.items() if k != "token"}
        )
        assert result.code == 0, result.stderr
    [comment] = issue_of(hub, issue.number).comments
    assert "octo/.github:.github/tierbot.yml" in comment.body
    assert "per_task_usd" in comment.body
    assert pulls(hub) == []


APP = "".join(f"def f{i}(x):\n    return x + {i}\n\n\n" for i in range(10))


def test_a_review_command_on_a_pull_request_posts_a_review_from_the_action(
    tmp_path: Path, hub: GitHubEmulator, models: ScriptedModelServer
) -> None:
    make_repo(hub, models.url, {"app.py": APP})
    hub.ci.enabled = False  # type: ignore[union-attr]  # a review needs no CI
    changed = APP.replace("    return x + 1\n", "    return x * 1  # was + 1\n", 1)
    hub.push_files(REPO, "feature", {"app.py": changed}, "Change")
    pr = hub.open_pull(REPO, "feature", title="Multiply")
    finding = {"path": "app.py", "line": 6, "side": "RIGHT", "severity": "major"}
    found = [{**finding, "body": "Multiplies where it should add."}]
    models.script("senior-model", [reply("```json\n" + json.dumps(found) + "\n```\n")])
    hub.comment(REPO, pr.number, "/tierbot review", user="alice")
    runner = Runner(tmp_path, hub, REPO)
    app = runner.app_token_env()
    token = app.pop("token")

    run = runner.run(
        "issue_comment", last_delivery(hub, "issue_comment", "created"), token=token, **app
    )

    assert run.code == 0, run.stderr
    pull = issue_of(hub, pr.number).pull
    [review] = pull.reviews
    [inline] = pull.review_comments
    assert (inline.path, inline.line) == ("app.py", 6)
    assert "Multiplies where it should add." in inline.body
    assert review.commit_id == pull.head_sha
    assert len(models.requests_for("senior-model")) == 1
