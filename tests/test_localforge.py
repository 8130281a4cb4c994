"""The local forge runs the check command in the worktree, with a timeout."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bot.adapters.git import LocalRepo
from bot.adapters.localforge import LocalForge, check_command, has_tests
from bot.config import CheckSpec
from tests.support.repos import make_repo


@pytest.fixture
def workspace(tmp_path: Path):
    repo = LocalRepo.open(make_repo(tmp_path / "r", {"a.py": "A = 1\n"}))
    ws = repo.add_worktree(repo.unique_branch("check"))
    yield ws
    repo.remove_worktree(ws)


def forge(said: list[str] | None = None) -> LocalForge:
    return LocalForge(env={"PATH": "/usr/bin:/bin"}, echo=(said if said is not None else []).append)


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (["a.py"], False),
        (["tests/test_a.py"], True),
        (["pkg/test_a.py"], True),
        (["pkg/a_test.py"], True),
        (["tests/data.json"], False),
    ],
)
def test_has_tests(files, expected):
    assert has_tests(files) is expected


def test_default_check_is_pytest_only_with_tests():
    spec = CheckSpec(command=None, timeout=5)
    assert check_command(spec, ["tests/test_a.py"]) == "pytest -q"
    assert check_command(spec, ["a.py"]) is None
    assert check_command(CheckSpec("make test", 5), ["a.py"]) == "make test"


def test_passing_check_runs_in_the_worktree(workspace):
    result = forge().run_check(workspace, CheckSpec("test -f a.py && pwd", 10))
    assert result.passed and result.exit_code == 0
    assert str(workspace.root) in result.output


def test_failing_check_is_excerpted(workspace):
    script = "; ".join(f"echo line {i}" for i in range(100)) + "; echo 'Error: boom'; exit 3"
    result = forge().run_check(workspace, CheckSpec(script, 10))
    assert not result.passed and result.exit_code == 3
    assert "Error: boom" in result.excerpt and "lines omitted" in result.excerpt


def test_timeout_kills_the_process_group(workspace):
    command = f"{sys.executable} -c 'import time; time.sleep(30)' & sleep 30"
    result = forge().run_check(workspace, CheckSpec(command, 0.5))
    assert result.timed_out and not result.passed and result.exit_code is None
    assert "timed out" in result.output


def test_no_check_and_no_tests_passes_with_a_note(workspace):
    result = forge().run_check(workspace, CheckSpec(None, 10))
    assert result.passed and result.command == ""


def test_secrets_in_the_check_output_are_scrubbed(workspace):
    result = forge().run_check(workspace, CheckSpec("echo password=hunter2; exit 1", 10))
    assert "hunter2" not in result.excerpt


def test_say_goes_to_the_terminal():
    said: list[str] = []
    forge(said).say("hello")
    assert said == ["hello"]
