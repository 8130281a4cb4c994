"""The real pre-commit framework runs this checkout's hooks (``pre-commit try-repo``) in a
temporary real git repository, from a git pre-commit hook, through real ``git commit``s.

``try-repo`` pip-installs this package into a fresh environment, which takes a while, so the
environment is built once per test session: ``PRE_COMMIT_HOME`` is a session temp dir and every
run uses the same (repository, ref). ``try-repo`` on a checkout with uncommitted changes would
make a new shadow commit, and so a new environment, on every run (pre-commit's docs: it "uses
a temporary repository with your uncommitted changes"); this module makes that snapshot once
instead, with untracked files too, so work in progress is what gets tested.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.repos import IDENTITY, git, make_repo, write

ROOT = Path(__file__).resolve().parent.parent
PRE_COMMIT = Path(sys.executable).parent / "pre-commit"

pytestmark = [
    pytest.mark.slow,  # builds a pre-commit environment (pip install of this package) once
    pytest.mark.skipif(not PRE_COMMIT.exists(), reason="pre-commit is not installed (test extra)"),
]

CALC = '''\
"""Arithmetic."""


def add(a: int, b: int) -> int:
    return a + b


class Accumulator:
    # tierbot: stub
    def __init__(self, start: int) -> None:
        ...

    # tierbot: stub - add n to the running total
    def push(self, n: int) -> int:
        ...
'''


def _snapshot(destination: Path) -> tuple[str, str]:
    """A clean repository holding this checkout's work tree: (path, commit)."""
    git(destination.parent, "clone", "-q", "--no-local", str(ROOT), destination.name)
    changed = git(ROOT, "diff", "--name-only", "-z", "HEAD").split("\0")
    untracked = git(ROOT, "ls-files", "--others", "--exclude-standard", "-z").split("\0")
    for name in filter(None, [*changed, *untracked]):
        source, target = ROOT / name, destination / name
        if source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
        elif target.exists():
            target.unlink()
    git(destination, "add", "-A")
    if git(destination, "status", "--porcelain"):
        git(destination, "commit", "-q", "-m", "work in progress under test")
    return str(destination), git(destination, "rev-parse", "HEAD").strip()


@pytest.fixture(scope="session")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """(repository, ref) for ``try-repo``: this checkout at HEAD, or its one-time snapshot."""
    dirty = subprocess.run(
        ["git", "diff-index", "--quiet", "HEAD", "--"], cwd=ROOT, check=False
    ).returncode
    untracked = git(ROOT, "ls-files", "--others", "--exclude-standard", "--", "bot", "hooks")
    if dirty or untracked.strip():
        return _snapshot(tmp_path_factory.mktemp("hook-source") / "tierbot")
    return str(ROOT), git(ROOT, "rev-parse", "HEAD").strip()


@pytest.fixture(scope="session")
def pre_commit_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("pre-commit-home")
    return {**os.environ, "PRE_COMMIT_HOME": str(home), "PRE_COMMIT_COLOR": "never"}


def run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False)


def commit(repo: Path, env: dict[str, str]) -> tuple[int, str]:
    result = run(["git", *IDENTITY, "commit", "-m", "change"], repo, env)
    # git hands a hook's output to stderr; both streams are what the developer sees.
    return result.returncode, result.stdout + result.stderr


def commits(repo: Path) -> int:
    return int(git(repo, "rev-list", "--count", "HEAD"))


def assert_generated_tests_run_and_are_not_vacuous(repo: Path, env: dict[str, str]) -> None:
    tests = run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider"], repo, env)
    assert tests.returncode == 0, tests.stdout
    assert "2 passed, 2 skipped" in tests.stdout
    assert "behaviour of add() not specified yet" in tests.stdout
    tree = ast.parse((repo / "tests" / "test_calc.py").read_text())
    for test in (n for n in tree.body if isinstance(n, ast.FunctionDef)):
        asserts = any(isinstance(n, ast.Assert) for n in ast.walk(test))
        skipped = any("skip(reason=" in ast.unparse(d) for d in test.decorator_list)
        assert asserts or skipped, f"{test.name} neither asserts nor is skipped with a reason"


def test_try_repo_first_commit_fails_listing_files_then_succeeds_once_staged(
    tmp_path: Path, hook_repo: tuple[str, str], pre_commit_env: dict[str, str]
):
    # try-repo builds its environment in a temporary store on every run (PRE_COMMIT_HOME does
    # not apply to it), so this test makes exactly the two runs the acceptance needs.
    repo = make_repo(tmp_path / "project", {"pkg/__init__.py": "", "README.md": "project\n"})
    source, ref = hook_repo
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.write_text(f'#!/bin/sh\nexec "{PRE_COMMIT}" try-repo "{source}" --ref {ref}\n')
    hook.chmod(0o755)
    write(repo, {"pkg/calc.py": CALC})
    git(repo, "add", "pkg/calc.py")
    (repo / "README.md").write_text("project\nunstaged line\n")  # pre-commit stashes this

    code, output = commit(repo, pre_commit_env)
    assert code == 1, output
    assert "tierbot-tests: wrote tests/test_calc.py: skeleton tests for add, Accumulator" in output
    assert "tierbot-stubs: filled pkg/calc.py:9 Accumulator.__init__ (template)" in output
    assert "Accumulator.push (template: placeholder raising NotImplementedError)" in output
    assert commits(repo) == 1
    assert (repo / "README.md").read_text() == "project\nunstaged line\n"
    filled = (repo / "pkg" / "calc.py").read_text()
    assert "self.start = start" in filled and '"""Add n to the running total."""' in filled

    git(repo, "add", "pkg", "tests")  # a new tests/ package, no root conftest.py
    code, output = commit(repo, pre_commit_env)
    assert code == 0, output
    assert "tierbot skeleton tests" in output and "Passed" in output
    assert commits(repo) == 2
    assert git(repo, "status", "--porcelain") == " M README.md\n"
    assert_generated_tests_run_and_are_not_vacuous(repo, pre_commit_env)


def test_installed_framework_refuses_syntax_errors_then_generates(
    tmp_path: Path, hook_repo: tuple[str, str], pre_commit_env: dict[str, str]
):
    # The setup a user has: .pre-commit-config.yaml naming the hooks, `pre-commit install`.
    # The environment lives in the session's PRE_COMMIT_HOME, built once for all three runs.
    source, ref = hook_repo
    config = (
        f"repos:\n  - repo: {source}\n    rev: {ref}\n    hooks:\n"
        "      - id: tierbot-stubs\n      - id: tierbot-tests\n"
    )
    repo = make_repo(
        tmp_path / "project",
        {"pkg/__init__.py": "", "README.md": "project\n", ".pre-commit-config.yaml": config},
    )
    installed = run([str(PRE_COMMIT), "install"], repo, pre_commit_env)
    assert installed.returncode == 0, installed.stdout + installed.stderr

    write(repo, {"pkg/calc.py": CALC, "pkg/broken.py": "def ok(:\n    pass\n"})
    git(repo, "add", "pkg")
    code, output = commit(repo, pre_commit_env)
    assert code == 1, output
    assert "pkg/broken.py:1: invalid syntax" in output
    assert "nothing written" in output
    assert not (repo / "tests").exists()
    assert (repo / "pkg" / "calc.py").read_text() == CALC

    write(repo, {"pkg/broken.py": "def ok():\n    return 1\n"})
    git(repo, "add", "pkg")
    code, output = commit(repo, pre_commit_env)
    assert code == 1, output
    assert "tierbot-tests: wrote tests/test_broken.py: skeleton tests for ok" in output
    assert "tierbot-tests: wrote tests/test_calc.py: skeleton tests for add, Accumulator" in output

    git(repo, "add", "-A")
    code, output = commit(repo, pre_commit_env)
    assert code == 0, output
    assert commits(repo) == 2
