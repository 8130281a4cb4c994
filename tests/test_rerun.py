"""Rerunning a task replaces its branch (never -2, -3 for the same task); the type guess."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.adapters.git import LocalRepo
from bot.cli import main
from bot.core.routing import infer_type
from bot.core.types import EditSet, FileEdit
from tests.support.repos import CALC, PYTEST_CHECK, git, make_repo

COMMIT_TYPES = {"stub", "boilerplate", "tests", "config", "docs", "feature", "refactor"}


@pytest.fixture
def repo(tmp_path: Path) -> LocalRepo:
    return LocalRepo.open(make_repo(tmp_path / "repo", {"a.py": "A = 1\n"}))


def commit_on(repo: LocalRepo, branch: str) -> None:
    ws = repo.add_worktree(branch)
    ws.apply(EditSet((FileEdit("b.py", "B = 2\n"),)))
    ws.commit("b", {})
    repo.remove_worktree(ws)


def test_an_earlier_runs_branch_is_replaced(repo: LocalRepo):
    commit_on(repo, repo.unique_branch("x"))
    assert repo.unique_branch("x") == "tierbot/x"
    assert not repo.branch_exists("tierbot/x")  # the old run's branch made way


def test_a_branch_a_person_committed_to_is_kept(repo: LocalRepo):
    commit_on(repo, repo.unique_branch("x"))
    ws = repo.add_worktree("scratch")
    git(ws.root, "checkout", "-q", "tierbot/x")
    (ws.root / "mine.py").write_text("M = 1\n")
    git(ws.root, "add", "mine.py")
    git(ws.root, "commit", "-qm", "my own work on the bot's branch")
    git(ws.root, "checkout", "-q", "--detach")
    repo.remove_worktree(ws)
    assert repo.unique_branch("x") == "tierbot/x-2"
    assert repo.branch_exists("tierbot/x")


def test_rerunning_the_same_task_keeps_one_branch(tmp_path: Path, capsys):
    root = make_repo(
        tmp_path / "cli",
        {
            "calc.py": CALC,
            "tests/test_smoke.py": "def test_ok():\n    assert True\n",
            ".github/tierbot.yml": f'check:\n  command: "{PYTEST_CHECK}"\n',
        },
    )
    branches = []
    for _ in range(2):
        code = main(
            ["run", "--repo", str(root), "--json", "Add tests for calc.py", "--type", "tests"]
        )
        result = json.loads(capsys.readouterr().out)
        assert code == 0, result
        branches.append(result["branch"])
    assert branches == ["tierbot/add-tests-for-calc-py"] * 2
    assert git(root, "branch", "--list", "tierbot/*").split() == ["tierbot/add-tests-for-calc-py"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Rename Cart.add to Cart.put", "refactor"),
        ("Rename the helpers module to utils", "refactor"),
        ("Fix the crash in total()", "feature"),  # debug comments; `run` commits: a feature
        ("Fix total() returning None for an empty cart", "feature"),
        ("Fix the typo in the README docs", "docs"),
    ],
)
def test_the_type_guess_reads_like_a_person(text, expected):
    assert infer_type(text, COMMIT_TYPES) == expected
    # With debug known (the GitHub path), a reported crash is debugged first.
    if "crash" in text:
        assert infer_type(text, COMMIT_TYPES | {"debug"}) == "debug"
