"""``tierbot-tests`` in temporary real git repositories: what it writes, where, and when not."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.adapters.ledger import SqlLedger
from bot.hooks import tests_hook
from bot.hooks.common import Repo
from tests.support.repos import git, make_repo, write

CART = '''\
"""A cart."""

from dataclasses import dataclass


@dataclass
class Item:
    name: str
    price: float


def total(items: list[Item], *, discount: float = 0.0) -> float:
    return sum(i.price for i in items) * (1 - discount)


def _helper() -> None:
    pass
'''


def run_hook(root: Path, files: list[str]) -> tuple[int, list[str]]:
    lines: list[str] = []
    code = tests_hook.run(files, repo=Repo(root), out=lines.append)
    return code, lines


def run_pytest(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "shop", {"shop/__init__.py": "", "shop/cart.py": CART})


def test_writes_skeleton_tests_that_run_and_a_second_run_is_a_noop(shop: Path):
    code, lines = run_hook(shop, ["shop/cart.py"])
    assert code == 1
    assert lines[
        0
    ] == "tierbot-tests: wrote tests/test_cart.py: skeleton tests for Item, total " + (
        "(shop/cart.py)"
    )
    assert lines[1] == (
        "tierbot-tests: wrote tests/__init__.py: the new test directory is a package, "
        "so pytest can import"
    )
    assert not (shop / "conftest.py").exists()
    text = (shop / "tests" / "test_cart.py").read_text()
    assert 'cart = importlib.import_module("shop.cart")' in text
    assert "_helper" not in text
    result = run_pytest(shop)
    assert result.returncode == 0, result.stdout
    assert "2 passed, 2 skipped" in result.stdout
    assert "behaviour of total() not specified yet" in result.stdout
    # Unstaged generated tests already cover the names; once staged, the coverage rule does.
    assert run_hook(shop, ["shop/cart.py"]) == (0, [])
    git(shop, "add", "-A")
    assert run_hook(shop, ["shop/cart.py"]) == (0, [])


def test_every_generated_test_asserts_or_is_skipped_with_a_reason(shop: Path):
    run_hook(shop, ["shop/cart.py"])
    tree = ast.parse((shop / "tests" / "test_cart.py").read_text())
    tests = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    assert tests
    for test in tests:
        asserts = any(isinstance(n, ast.Assert) for n in ast.walk(test))
        skipped = any(
            isinstance(d, ast.Call)
            and ast.unparse(d.func) == "pytest.mark.skip"
            and any(k.arg == "reason" for k in d.keywords)
            for d in test.decorator_list
        )
        assert asserts or skipped, test.name


def test_names_mentioned_in_any_test_file_are_covered(shop: Path):
    write(
        shop,
        {
            "tests/test_checkout.py": "from shop.cart import total\n\n\ndef test_t():\n"
            "    assert total([]) == 0\n"
        },
    )
    git(shop, "add", "-A")
    code, lines = run_hook(shop, ["shop/cart.py"])
    assert code == 1
    assert lines[0].endswith("skeleton tests for Item (shop/cart.py)")
    # A word in a string or a comment is not a test of the name.
    write(shop, {"tests/test_models.py": "# Item\ndef test_item():\n    assert 'Item'\n"})
    (shop / "tests" / "test_cart.py").unlink()
    git(shop, "add", "-A")
    code, lines = run_hook(shop, ["shop/cart.py"])
    assert lines[0].endswith("skeleton tests for Item (shop/cart.py)")
    (shop / "tests" / "test_cart.py").unlink()
    write(
        shop,
        {
            "tests/test_models.py": "from shop import cart\n\n\ndef test_item():\n"
            "    assert cart.Item('x', 1.0).price == 1.0\n"
        },
    )
    git(shop, "add", "-A")
    assert run_hook(shop, ["shop/cart.py"]) == (0, [])


def test_appends_to_an_existing_test_file_without_changing_a_line(shop: Path):
    existing = '"""Cart tests."""\n\nimport os\n\n\ndef test_env():\n    assert os.sep\n'
    write(shop, {"tests/test_cart.py": existing})
    git(shop, "add", "-A")
    code, _ = run_hook(shop, ["shop/cart.py"])
    assert code == 1
    new = (shop / "tests" / "test_cart.py").read_text()
    remaining = iter(new.split("\n"))
    assert all(line in remaining for line in existing.rstrip("\n").split("\n"))
    assert new.index("def test_env") < new.index("def test_item_interface")
    assert run_pytest(shop).returncode == 0


def test_configured_layout(shop: Path):
    write(
        shop, {".github/tierbot.yml": "hooks:\n  tests_path: 'tests/{package}/test_{module}.py'\n"}
    )
    code, lines = run_hook(shop, ["shop/cart.py"])
    assert code == 1
    assert lines[0].startswith("tierbot-tests: wrote tests/shop/test_cart.py:")
    assert (shop / "tests" / "shop" / "test_cart.py").exists()


def test_syntax_error_reports_file_and_line_and_writes_nothing(shop: Path):
    write(shop, {"shop/broken.py": "def ok():\n    return 1\n\ndef bad(:\n    pass\n"})
    code, lines = run_hook(shop, ["shop/cart.py", "shop/broken.py"])
    assert code == 1
    assert lines[0] == "shop/broken.py:4: invalid syntax"
    assert lines[-1] == "tierbot-tests: nothing written: fix the 1 file above first"
    assert not (shop / "tests").exists()


def test_a_broken_test_file_is_never_appended_to(shop: Path):
    write(shop, {"tests/test_cart.py": "def test_x(:\n    pass\n"})
    code, lines = run_hook(shop, ["shop/cart.py"])
    assert code == 1
    assert lines[0] == "tests/test_cart.py:1: invalid syntax (tests would be added here)"
    assert (shop / "tests" / "test_cart.py").read_text() == "def test_x(:\n    pass\n"


def test_binary_non_python_test_and_excluded_files_are_ignored(shop: Path):
    (shop / "logo.py").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00def f(): pass")
    (shop / "latin.py").write_bytes("def caf\xe9(): pass\n".encode("latin-1"))
    write(
        shop,
        {
            "notes.txt": "def f(): pass",
            "tests/test_x.py": "def helper_for_tests(): pass\n",
            "conftest.py": "def fixture_maker(): pass\n",
            "migrations/m1.py": "def upgrade(): pass\n",
            ".github/tierbot.yml": "hooks: {exclude: ['migrations/**']}\n",
        },
    )
    files = [
        "logo.py",
        "latin.py",
        "notes.txt",
        "tests/test_x.py",
        "conftest.py",
        "migrations/m1.py",
    ]
    assert run_hook(shop, files) == (0, [])
    assert run_hook(shop, []) == (0, [])


def test_src_layout_and_modules_without_public_names(tmp_path: Path):
    root = make_repo(
        tmp_path / "src-layout",
        {
            "src/pkg/__init__.py": "",
            "src/pkg/core.py": "def run(): return 1\n",
            "src/pkg/_private.py": "def run(): return 1\n",
            "src/pkg/consts.py": "LIMIT = 3\n",
        },
    )
    code, lines = run_hook(root, ["src/pkg/core.py", "src/pkg/_private.py", "src/pkg/consts.py"])
    assert code == 1
    assert [line.split(":")[0] for line in lines[:-1]] == ["tierbot-tests"]
    assert "wrote tests/test_core.py: skeleton tests for run (src/pkg/core.py)" in lines[0]
    assert (
        'core = importlib.import_module("pkg.core")'
        in (root / "tests" / "test_core.py").read_text()
    )
    assert not (root / "conftest.py").exists()  # src/ layouts are installed, not rooted
    assert not (root / "tests" / "__init__.py").exists()


def test_records_one_free_task_per_name_and_survives_a_broken_ledger(shop: Path, monkeypatch):
    run_hook(shop, ["shop/cart.py"])
    with SqlLedger(f"sqlite:///{shop / '.git' / 'tierbot' / 'ledger.sqlite3'}") as ledger:
        rows = ledger.report_rows(repo=str(shop))
    assert sorted(t.title for t in rows.tasks) == [
        "skeleton tests for Item (shop/cart.py)",
        "skeleton tests for total (shop/cart.py)",
    ]
    assert {(t.type, t.start_tier, t.cost_usd, t.status) for t in rows.tasks} == {
        ("tests", "template", 0.0, "done")
    }
    assert all(t.senior_cost_usd is not None and t.senior_cost_usd > 0 for t in rows.tasks)

    (shop / "tests" / "test_cart.py").unlink()
    lines: list[str] = []
    env = {"TIERBOT_DB_URL": "nosuchdialect://nowhere"}
    code = tests_hook.run(["shop/cart.py"], repo=Repo(shop, env=env), out=lines.append)
    assert code == 1
    assert any(line.startswith("tierbot-tests: note: the ledger was not updated") for line in lines)
    assert (shop / "tests" / "test_cart.py").exists()


def test_broken_config_is_one_line_naming_the_key_and_exit_2(shop: Path):
    write(shop, {".github/tierbot.yml": "hooks:\n  model_tier: wizard\n"})
    result = subprocess.run(
        [sys.executable, "-m", "bot.hooks.tests_hook", "shop/cart.py"],
        cwd=shop,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "tierbot-tests: error: .github/tierbot.yml: hooks.model_tier: unknown value 'wizard' "
        "(allowed: intern, junior, senior)"
    ]
    assert not (shop / "tests").exists()


def test_missing_config_uses_the_defaults_from_a_subdirectory(shop: Path):
    result = subprocess.run(
        [sys.executable, "-m", "bot.hooks.tests_hook", "cart.py"],
        cwd=shop / "shop",
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert (shop / "tests" / "test_cart.py").exists()


@pytest.mark.skipif(
    shutil.which("ruff") is None and not (Path(sys.executable).parent / "ruff").exists(),
    reason="ruff is not installed",
)
def test_generated_code_follows_the_repos_ruff_config_and_other_code_is_left_alone(shop: Path):
    write(
        shop,
        {
            "pyproject.toml": "[tool.ruff]\nline-length = 100\n\n[tool.ruff.format]\n"
            'quote-style = "single"\n',
            # Existing code the formatter would change if it touched it.
            "tests/test_cart.py": 'import os\n\n\ndef test_env():\n    assert os.sep != "x"\n',
        },
    )
    run_hook(shop, ["shop/cart.py"])
    text = (shop / "tests" / "test_cart.py").read_text()
    assert 'assert os.sep != "x"' in text  # not the tierbot's to reformat
    assert "@pytest.mark.skip(reason='behaviour of total() not specified yet')" in text


def test_black_formats_only_the_appended_lines(shop: Path, tmp_path: Path, monkeypatch):
    # A stand-in black on PATH that records how it was called.
    shims = tmp_path / "bin"
    shims.mkdir()
    calls = tmp_path / "black-calls.txt"
    (shims / "black").write_text(f'#!/bin/sh\necho "$@" >> "{calls}"\n')
    (shims / "black").chmod(0o755)
    monkeypatch.setenv("PATH", f"{shims}:{os.environ['PATH']}")
    existing = "import os\n\n\ndef test_env():\n    assert os.sep\n"
    write(
        shop,
        {"pyproject.toml": "[tool.black]\nline-length = 100\n", "tests/test_cart.py": existing},
    )
    assert run_hook(shop, ["shop/cart.py"])[0] == 1
    (call,) = calls.read_text().splitlines()  # the existing tests/ needs no __init__.py
    assert call.startswith("--quiet --line-ranges=")
    assert call.endswith(" tests/test_cart.py")
    ranges = [a.split("=", 1)[1] for a in call.split() if a.startswith("--line-ranges=")]
    first_existing_line = 1  # "import os" stays line 1: no range may start there
    assert all(int(r.split("-")[0]) > first_existing_line for r in ranges)


def test_format_none_leaves_generated_code_as_written(shop: Path):
    write(
        shop,
        {
            "pyproject.toml": "[tool.ruff.format]\nquote-style = 'single'\n",
            ".github/tierbot.yml": "hooks: {format: none}\n",
        },
    )
    run_hook(shop, ["shop/cart.py"])
    assert (
        'reason="behaviour of total() not specified yet"'
        in (shop / "tests" / "test_cart.py").read_text()
    )
