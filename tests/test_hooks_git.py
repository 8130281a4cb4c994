"""The plain git hook without the pre-commit framework: ``tierbot hooks install`` into temporary
real repositories, then real ``git add`` / ``git commit``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.hooks.install import SIGNATURE, render
from tests.support.repos import IDENTITY, git, make_repo, write

ROOT = Path(__file__).resolve().parent.parent

SHOP = '''\
"""A shop."""


class Cart:
    # tierbot: stub
    def __init__(self, owner: str) -> None:
        ...

    # tierbot: stub - add up the prices
    def total(self) -> float:
        ...


def greet(name: str) -> str:
    return f"hello {name}"
'''


def tierbot(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).parent / "tierbot"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "bot"]
    return subprocess.run([*command, *args], cwd=cwd, capture_output=True, text=True, check=False)


def commit(repo: Path, message: str = "change") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *IDENTITY, "commit", "-m", message],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )


def status(repo: Path) -> str:
    return git(repo, "status", "--porcelain", "--untracked-files=all")


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    root = make_repo(tmp_path / "shop", {"README.md": "a shop\n"})
    result = tierbot("hooks", "install", cwd=root)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "tierbot: installed .git/hooks/pre-commit"
    return root


def test_the_checked_in_script_is_the_one_install_writes():
    script = ROOT / "hooks" / "pre-commit"
    assert script.read_text() == render(None)
    assert os.access(script, os.X_OK)
    assert git(ROOT, "ls-files", "-s", "hooks/pre-commit").startswith("100755 ")


def test_install_refuses_a_foreign_hook_without_force(tmp_path: Path):
    root = make_repo(tmp_path / "r", {"README.md": "x\n"})
    hook = root / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho mine\n")
    refused = tierbot("hooks", "install", cwd=root)
    assert refused.returncode == 2
    assert refused.stderr.strip() == (
        "tierbot: error: .git/hooks/pre-commit already exists and is not tierbot's; "
        "rerun with --force to replace it (it is kept as pre-commit.backup)"
    )
    assert hook.read_text() == "#!/bin/sh\necho mine\n"
    forced = tierbot("hooks", "install", "--force", cwd=root)
    assert forced.returncode == 0
    assert "previous hook is now pre-commit.backup" in forced.stdout
    assert (hook.parent / "pre-commit.backup").read_text() == "#!/bin/sh\necho mine\n"
    assert SIGNATURE in hook.read_text()
    assert os.access(hook, os.X_OK)
    again = tierbot("hooks", "install", cwd=root)
    assert (again.returncode, again.stdout.strip()) == (
        0,
        "tierbot: .git/hooks/pre-commit is already installed",
    )


@pytest.mark.parametrize("hooks_path", ["githooks", "ABSOLUTE"])
def test_install_honours_core_hooks_path(tmp_path: Path, hooks_path: str):
    root = make_repo(tmp_path / "r", {"README.md": "x\n"})
    if hooks_path == "ABSOLUTE":
        hooks_path = str(tmp_path / "shared-hooks")
    git(root, "config", "core.hooksPath", hooks_path)
    (root / "sub").mkdir()
    result = tierbot("hooks", "install", cwd=root / "sub")
    assert result.returncode == 0, result.stderr
    target = Path(hooks_path) if os.path.isabs(hooks_path) else root / hooks_path
    assert SIGNATURE in (target / "pre-commit").read_text()
    assert not (root / ".git" / "hooks" / "pre-commit").exists()


def test_install_outside_a_repository_is_an_error(tmp_path: Path):
    result = tierbot("hooks", "install", cwd=tmp_path)
    assert result.returncode == 2
    assert "is not inside a git work tree" in result.stderr


def test_commit_fails_listing_what_was_written_then_succeeds_when_staged(shop: Path):
    write(shop, {"shop.py": SHOP, "notes.py": "DRAFT = 1\n"})
    git(shop, "add", "shop.py")
    # Unstaged work the hook must leave exactly as it was: an edit of a staged file and an
    # untracked file.
    with open(shop / "shop.py", "a") as handle:
        handle.write("\n\n# unstaged thought\n")
    before_unstaged = (shop / "shop.py").read_text()

    first = commit(shop)
    assert first.returncode == 1
    out = first.stdout + first.stderr
    assert "tierbot: unstaged changes set aside" in out
    assert "tierbot-stubs: filled shop.py:5 Cart.__init__ (template)" in out
    assert (
        "tierbot-tests: wrote tests/test_shop.py: skeleton tests for Cart, greet (shop.py)" in out
    )
    assert "review" in out
    assert git(shop, "rev-list", "--count", "HEAD").strip() == "1"  # nothing committed
    after = (shop / "shop.py").read_text()
    assert after.endswith("# unstaged thought\n")
    assert "self.owner = owner" in after and after != before_unstaged
    assert (shop / "notes.py").read_text() == "DRAFT = 1\n"
    assert not list((shop / ".git" / "tierbot").glob("*.patch"))

    git(shop, "add", "shop.py", "tests")  # the new tests/ is a package: no root conftest.py
    second = commit(shop)
    assert second.returncode == 0, second.stdout + second.stderr
    assert git(shop, "rev-list", "--count", "HEAD").strip() == "2"
    assert status(shop) == "?? notes.py\n"
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider"],
        cwd=shop,
        capture_output=True,
        text=True,
        check=False,
    )
    assert tests.returncode == 0, tests.stdout
    assert "2 passed, 2 skipped" in tests.stdout
    assert "behaviour of greet() not specified yet" in tests.stdout


def test_unstaged_changes_win_over_conflicting_hook_edits(shop: Path):
    stub = "# tierbot: stub\ndef total(items):\n    ...\n"
    write(shop, {"calc.py": stub, "tests/test_calc.py": "from calc import total\n"})
    git(shop, "add", "-A")
    mine = "# tierbot: stub\ndef total(items):\n    return sum(items)  # my own\n"
    (shop / "calc.py").write_text(mine)

    result = commit(shop)
    assert result.returncode == 1
    assert "conflict with your unstaged changes" in result.stdout + result.stderr
    assert (shop / "calc.py").read_text() == mine
    assert git(shop, "show", ":calc.py") == stub
    assert git(shop, "rev-list", "--count", "HEAD").strip() == "1"


def test_intent_to_add_files_survive(shop: Path):
    write(shop, {"calc.py": "def add(a, b):\n    return a + b\n", "later.py": "X = 1\n"})
    git(shop, "add", "calc.py")
    git(shop, "add", "--intent-to-add", "later.py")
    with open(shop / "calc.py", "a") as handle:
        handle.write("# unstaged\n")
    result = commit(shop)
    assert result.returncode == 1
    assert (shop / "later.py").read_text() == "X = 1\n"
    assert " A later.py" in status(shop)


def test_syntax_error_fails_the_commit_with_file_and_line_and_writes_nothing(shop: Path):
    write(shop, {"calc.py": "def add(a, b):\n    return a +\n"})
    git(shop, "add", "calc.py")
    result = commit(shop)
    assert result.returncode == 1
    assert "calc.py:2: invalid syntax" in result.stdout + result.stderr
    assert status(shop) == "A  calc.py\n"


def test_binary_and_non_python_files_commit_untouched(shop: Path):
    (shop / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    (shop / "blob.py").write_bytes(b"\x00\x01def f(): pass")
    write(shop, {"docs.md": "# def f(): pass\n"})
    git(shop, "add", "-A")
    result = commit(shop)
    assert result.returncode == 0, result.stdout + result.stderr
    assert status(shop) == ""


def test_broken_config_fails_the_commit_with_one_line_naming_the_key(shop: Path):
    write(shop, {".github/tierbot.yml": "hooks:\n  strict: maybe\n", "calc.py": "X = 1\n"})
    git(shop, "add", "-A")
    result = commit(shop)
    assert result.returncode != 0  # the hook exits 2; git reports any hook failure as 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("tierbot")]
    assert errors == [
        "tierbot: error: .github/tierbot.yml: hooks.strict: expected true or false, got 'maybe'"
    ]


def test_config_can_turn_a_hook_off(shop: Path):
    write(shop, {".github/tierbot.yml": "hooks: {run: [stubs]}\n", "calc.py": "def f(): pass\n"})
    git(shop, "add", "-A")
    result = commit(shop)
    assert result.returncode == 0, result.stdout + result.stderr
    assert not (shop / "tests").exists()


def test_the_uninstalled_script_finds_python_through_tierbot_python(tmp_path: Path):
    root = make_repo(tmp_path / "copied", {"README.md": "x\n"})
    hook = root / ".git" / "hooks" / "pre-commit"
    hook.write_text((ROOT / "hooks" / "pre-commit").read_text())
    hook.chmod(0o755)
    write(root, {"calc.py": "def add(a, b):\n    return a + b\n"})
    git(root, "add", "calc.py")
    env = {**os.environ, "TIERBOT_PYTHON": sys.executable}
    result = subprocess.run(
        ["git", *IDENTITY, "commit", "-m", "x"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "tierbot-tests: wrote tests/test_calc.py" in result.stdout + result.stderr

    # No TIERBOT_PYTHON, no INSTALL_PYTHON, and a python3 on PATH without tierbot.
    shims = tmp_path / "bin"
    shims.mkdir()
    (shims / "python3").write_text("#!/bin/sh\nexit 1\n")
    (shims / "python3").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "TIERBOT_PYTHON"}
    env["PATH"] = f"{shims}{os.pathsep}{env.get('PATH', '')}"
    result = subprocess.run(
        ["git", *IDENTITY, "commit", "-m", "x"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "tierbot: cannot find tierbot's Python; set TIERBOT_PYTHON" in result.stderr
