"""A local feature run killed midway goes on where it stopped when run again (`tierbot run`)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import EXIT_DONE, main
from tests.support.model_server import ScriptedModelServer, reply, slow
from tests.support.repos import git
from tests.test_orchestrator_local import (
    DOCS,
    GOOD_DISCOUNT,
    ISSUE,
    make,
    plan_reply,
    run,
    subtask_commits,
)


@pytest.fixture
def server() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer() as running:
        yield running


BRANCH = "tierbot/coupons-percentage-discounts-at-checkout"


def saved_plans(repo: Path) -> list[Path]:
    return sorted((repo / ".git" / "tierbot" / "plans").glob("*.json"))


def kill_during_the_hard_subtask(server: ScriptedModelServer, repo: Path) -> None:
    """Start `tierbot run` in a process of its own and SIGKILL it while the hard subtask's
    model call is in flight (after the plan and the first subtask's commit)."""
    server.script("senior-model", [reply(plan_reply()), slow(30, reply(GOOD_DISCOUNT))])
    command = [sys.executable, "-m", "bot", "run", "--repo", str(repo), "--type", "feature"]
    command += ["--issue-file", str(repo.parent / "issue.md"), "--json"]
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=os.environ.copy()
    )
    try:
        deadline = time.monotonic() + 60
        while len(server.requests_for("senior-model")) < 2:
            if proc.poll() is not None or time.monotonic() > deadline:
                out, err = proc.communicate(timeout=10)
                pytest.fail(f"the run never reached the hard subtask:\n{out!r}\n{err!r}")
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)


def test_a_killed_run_goes_on_where_it_stopped(tmp_path, server, capsys):
    repo = make(tmp_path, server.url)
    kill_during_the_hard_subtask(server, repo)
    first = subtask_commits(repo, BRANCH)
    assert [(s, t) for _, s, t in first] == [("coupon", "template")]
    assert len(saved_plans(repo)) == 1

    server.script("senior-model", [reply(GOOD_DISCOUNT)])
    server.script("intern-model", [reply(DOCS)])
    code, result, err = run(capsys, repo, "--type", "feature")

    assert code == EXIT_DONE, result
    assert "going on with the stopped run on " + BRANCH in err
    assert "1 of 5 subtasks committed" in err
    # The planner was asked once in all: the second run made only the hard subtask's call.
    senior = server.requests_for("senior-model")
    assert len(senior) == 3
    assert "Percentage coupons" not in json.dumps(senior[2].messages[0])  # not a planner prompt
    commits = subtask_commits(repo, BRANCH)
    assert commits[0] == first[0]  # the first run's commit is kept as it was
    assert [(s, t) for _, s, t in commits] == [
        ("coupon", "template"),
        ("discount", "senior"),
        ("discount-tests", "template"),
        ("editorconfig", "template"),
        ("docs", "intern"),
    ]
    assert result["branch"] == BRANCH
    assert saved_plans(repo) == []  # a run that ended leaves nothing to resume


def test_fresh_starts_over_and_replaces_the_stopped_runs_branch(tmp_path, server, capsys):
    repo = make(tmp_path, server.url)
    kill_during_the_hard_subtask(server, repo)

    server.script("senior-model", [reply(plan_reply()), reply(GOOD_DISCOUNT)])
    server.script("intern-model", [reply(DOCS)])
    code, result, err = run(capsys, repo, "--type", "feature", "--fresh")

    assert code == EXIT_DONE, result
    assert "going on with" not in err
    assert len(server.requests_for("senior-model")) == 4  # planned again
    assert result["branch"] == BRANCH  # the stopped run's branch was replaced, not numbered
    assert len(subtask_commits(repo, BRANCH)) == 5


def test_a_changed_issue_is_planned_again(tmp_path, server, capsys):
    repo = make(tmp_path, server.url)
    kill_during_the_hard_subtask(server, repo)
    (tmp_path / "issue.md").write_text(ISSUE + "\n- and a changelog line\n")

    server.script("senior-model", [reply(plan_reply()), reply(GOOD_DISCOUNT)])
    server.script("intern-model", [reply(DOCS)])
    code, result, err = run(capsys, repo, "--type", "feature")

    assert code == EXIT_DONE, result
    assert "the issue's text or type changed since: starting over" in err


def test_a_branch_someone_committed_to_is_not_resumed(tmp_path, server, capsys):
    repo = make(tmp_path, server.url)
    kill_during_the_hard_subtask(server, repo)
    shutil.rmtree(repo / ".git" / "tierbot" / "worktrees" / BRANCH.replace("/", "-"))
    git(repo, "worktree", "prune")
    scratch = tmp_path / "scratch"
    git(repo, "worktree", "add", "-q", str(scratch), BRANCH)
    (scratch / "notes.txt").write_text("mine\n")
    git(scratch, "add", "notes.txt")
    git(scratch, "commit", "-q", "-m", "a person's commit")
    git(repo, "worktree", "remove", "--force", str(scratch))

    server.script("senior-model", [reply(plan_reply()), reply(GOOD_DISCOUNT)])
    server.script("intern-model", [reply(DOCS)])
    code, result, err = run(capsys, repo, "--type", "feature")

    assert code == EXIT_DONE, result
    assert "commits of someone else's: starting over" in err
    assert result["branch"] == BRANCH + "-2"  # the person's branch is kept as it is
    assert "notes.txt" in git(repo, "ls-tree", "--name-only", BRANCH)


@pytest.mark.parametrize("content", ["{not json", '{"version": 99}', '{"version": 1}'])
def test_an_unusable_saved_state_starts_over_with_the_reason(tmp_path, server, capsys, content):
    repo = make(tmp_path, server.url)
    plans = repo / ".git" / "tierbot" / "plans"
    plans.mkdir(parents=True)
    (plans / "coupons-percentage-discounts-at-checkout.json").write_text(content)

    server.script("senior-model", [reply(plan_reply()), reply(GOOD_DISCOUNT)])
    server.script("intern-model", [reply(DOCS)])
    code, result, err = run(capsys, repo, "--type", "feature")

    assert code == EXIT_DONE, result
    assert "stopped midway, but" in err and "starting over" in err
    assert saved_plans(repo) == []


def test_base_names_the_commit_a_run_branches_from(tmp_path, server, capsys):
    repo = make(tmp_path, server.url)
    first = git(repo, "rev-parse", "HEAD").strip()
    (repo / "later.py").write_text("LATER = 1\n")
    git(repo, "add", "later.py")
    git(repo, "commit", "-q", "-m", "later")

    server.script("senior-model", [reply(plan_reply()), reply(GOOD_DISCOUNT)])
    server.script("intern-model", [reply(DOCS)])
    code, result, _ = run(capsys, repo, "--type", "feature", "--base", first)

    assert code == EXIT_DONE, result
    assert git(repo, "merge-base", BRANCH, "main").strip() == first
    assert "later.py" not in git(repo, "ls-tree", "-r", "--name-only", BRANCH)


def test_an_unknown_base_is_a_clear_error(tmp_path, server, capsys):
    repo = make(tmp_path, server.url)
    issue = str(tmp_path / "issue.md")
    code = main(["run", "--repo", str(repo), "--issue-file", issue, "--base", "nope-no-such"])
    assert code != 0
    assert "no commit named 'nope-no-such'" in capsys.readouterr().err
    assert server.requests == []


def test_a_run_of_the_same_issue_in_progress_is_refused(tmp_path, server, capsys):
    repo = make(tmp_path, server.url)
    kill_during_the_hard_subtask(server, repo)
    [path] = saved_plans(repo)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        data = json.loads(path.read_text())
        path.write_text(json.dumps({**data, "pid": sleeper.pid}))
        issue = str(tmp_path / "issue.md")
        code = main(["run", "--repo", str(repo), "--issue-file", issue, "--type", "feature"])
    finally:
        sleeper.kill()
        sleeper.wait()
    assert code == 1
    err = capsys.readouterr().err
    assert f"another tierbot run of this issue is in progress (pid {sleeper.pid}" in err
    assert len(server.requests) == 2  # the killed run's two calls; none made now
    assert path.exists()  # its state is left for it
