"""`tierbot run` checks the base commit first: a red base stops before any charge, cached by tree.

Temporary real git repositories and the scripted model server over HTTP (tests/support/).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.baseline import CACHE_FILE
from bot.cli import EXIT_NEEDS_HUMAN, main
from tests.support.model_server import ScriptedModelServer, reply
from tests.support.repos import (
    CALC,
    MUL_TEST,
    WRONG_MUL,
    WRONG_MUL2,
    git,
    make_repo,
    tier_config,
    write,
)

BROKEN_TEST = "def test_broken():\n    assert 1 == 2\n"
ADD_TEST = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"


@pytest.fixture
def server() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer() as running:
        yield running


def run(capsys, repo: Path, *args: str) -> tuple[int, dict, str]:
    code = main(["run", "--repo", str(repo), "--json", *args])
    out, err = capsys.readouterr()
    assert out, err
    return code, json.loads(out), err


def test_a_red_base_stops_a_tests_task_before_any_tier_and_charges_nothing(
    tmp_path, server, capsys
):
    server.script("intern-model", [reply("### tests/test_calc.py\n```python\nx = 1\n```\n")])
    files = {"calc.py": CALC, "tests/test_other.py": BROKEN_TEST}
    repo = make_repo(tmp_path / "repo", {**files, ".github/tierbot.yml": tier_config(server.url)})
    base = git(repo, "rev-parse", "HEAD").strip()

    code, result, err = run(capsys, repo, "Add tests for calc.py", "--type", "tests")

    assert code == EXIT_NEEDS_HUMAN
    assert result["status"] == "needs-human"
    assert result["reason"].startswith(
        f"the check already fails on {base[:10]}: "
        "FAILED tests/test_other.py::test_broken - assert 1 == 2"
    )
    assert result["attempts"] == [] and result["cost_usd"] == 0
    assert server.requests == []
    assert result["branch"] is None
    assert git(repo, "branch", "--list", "tierbot/*").strip() == ""
    assert "baseline: running" in err


def test_a_git_ignored_generated_module_makes_the_base_red_with_the_import_error(
    tmp_path, server, capsys
):
    # humanize's case: `_version.py` is written by the build and git-ignored, so a worktree
    # (which holds committed files only) lacks it. The user learns that, not "exit 2".
    files = {
        ".gitignore": "pkg/_version.py\n",
        "pkg/__init__.py": "from pkg._version import VERSION\n",
        "pkg/i18n.py": "def activate(locale):\n    return locale\n",
        "tests/test_pkg.py": "import pkg\n\n\ndef test_version():\n    assert pkg.VERSION\n",
        ".github/tierbot.yml": tier_config(server.url),
    }
    repo = make_repo(tmp_path / "repo", files)
    write(repo, {"pkg/_version.py": "VERSION = '1.0'\n"})  # present in the checkout only

    code, result, _ = run(capsys, repo, "Add tests for pkg/i18n.py", "--type", "tests")

    assert code == EXIT_NEEDS_HUMAN
    assert "the check already fails on" in result["reason"]
    assert "ERROR tests/test_pkg.py" in result["reason"]
    assert "No module named 'pkg._version'" in result["reason"]
    assert server.requests == []


def test_a_green_base_is_cached_by_tree_and_a_red_one_is_not(tmp_path, server, capsys):
    files = {
        "calc.py": CALC + "\n\ndef sub(a, b):\n    return a - b\n",
        "tests/test_add.py": ADD_TEST,
    }
    repo = make_repo(tmp_path / "repo", {**files, ".github/tierbot.yml": tier_config(server.url)})

    code, first, err = run(capsys, repo, "Add tests for calc.py", "--type", "tests")
    assert code == 0 and first["status"] == "done", first
    assert "baseline: running" in err
    cache = json.loads((repo / ".git" / "tierbot" / CACHE_FILE).read_text())
    assert len(cache) == 1

    # The same tree again (another task on the same commit): no second run of the check.
    code, _, err = run(capsys, repo, "Add tests for calc.py please", "--type", "tests")
    assert "passed on this tree before (cached)" in err and "baseline: running" not in err

    # A red tree is checked every time: the user may fix the environment, not the commit.
    write(repo, {"tests/test_other.py": BROKEN_TEST})
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "a broken test")
    for _ in range(2):
        code, result, err = run(capsys, repo, "Add tests for calc.py", "--type", "tests")
        assert code == EXIT_NEEDS_HUMAN and "already fails" in result["reason"]
        assert "baseline: running" in err
    assert len(json.loads((repo / ".git" / "tierbot" / CACHE_FILE).read_text())) == 1


def test_a_damaged_cache_only_means_the_check_runs_again(tmp_path, server, capsys):
    repo = make_repo(
        tmp_path / "repo",
        {
            "calc.py": CALC,
            "tests/test_add.py": ADD_TEST,
            ".github/tierbot.yml": tier_config(server.url),
        },
    )
    (repo / ".git" / "tierbot").mkdir(parents=True)
    (repo / ".git" / "tierbot" / CACHE_FILE).write_text("{not json")
    write(repo, {"calc.py": CALC + "\n\ndef neg(a):\n    return -a\n"})
    git(repo, "commit", "-qam", "neg")
    code, result, err = run(capsys, repo, "Add tests for calc.py", "--type", "tests")
    assert code == 0 and result["status"] == "done"
    assert "baseline: running" in err


def test_a_red_base_is_the_specification_of_a_feature_task(tmp_path, server, capsys):
    # A failing test of mul() is what the task is asked to make pass: the ladder runs, and
    # the red check of each attempt shows its failing test in the status line and --json.
    wrong = [reply(WRONG_MUL), reply(WRONG_MUL2)]
    server.script("intern-model", wrong * 2)
    server.script("junior-model", wrong * 2)
    files = {"calc.py": CALC, "tests/test_calc.py": MUL_TEST}
    repo = make_repo(tmp_path / "repo", {**files, ".github/tierbot.yml": tier_config(server.url)})

    code, result, _ = run(capsys, repo, "Add mul(a, b) to calc.py", "--type", "boilerplate")
    assert code == EXIT_NEEDS_HUMAN
    red = result["attempts"][-1]["detail"]
    assert "failed (exit 1)" in red
    assert red.endswith("FAILED tests/test_calc.py::test_mul - assert -1 == 6")
    assert "last: " in result["detail"] and "test_mul - assert -1 == 6" in result["detail"]

    main(["run", "--repo", str(repo), "Add mul(a, b) to calc.py", "--type", "boilerplate"])
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith("needs-human: ")
    assert "FAILED tests/test_calc.py::test_mul - assert -1 == 6" in line
