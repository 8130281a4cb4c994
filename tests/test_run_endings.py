"""`tierbot run` ends honestly: nothing-to-do never climbs, declines and missing keys are named.

Temporary real git repositories and the scripted model server over HTTP (tests/support/).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import EXIT_DONE, EXIT_NEEDS_HUMAN, EXIT_NOTHING_TO_DO, main
from tests.support.model_server import ScriptedModelServer, reply
from tests.support.repos import CALC, make_repo, tier_config

ADD_TEST = "import calc\n\n\ndef test_add():\n    assert calc.add(2, 3) == 5\n"
INTERN_TESTS = (
    "### tests/test_more.py\n```python\nimport calc\n\n\ndef test_more():\n"
    "    assert calc.add(1, 1) == 2\n```\n"
)


@pytest.fixture
def server() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer() as running:
        yield running


def repo_of(tmp_path: Path, server: ScriptedModelServer, files: dict[str, str]) -> Path:
    return make_repo(tmp_path / "repo", {**files, ".github/tierbot.yml": tier_config(server.url)})


def run(capsys, repo: Path, *args: str) -> tuple[int, dict]:
    code = main(["run", "--repo", str(repo), "--json", *args])
    out, err = capsys.readouterr()
    assert out, err
    return code, json.loads(out)


@pytest.mark.parametrize(
    ("task", "files", "reason"),
    [
        (
            "Add tests for calc.py",
            {"calc.py": CALC, "tests/test_calc.py": ADD_TEST},
            "every public name already has a test in tests/test_calc.py; nothing is left to add",
        ),
        (
            "Add tests for missing.py",
            {"calc.py": CALC, "tests/test_calc.py": ADD_TEST},
            "none of the named modules exist in the repository (tasks see committed files "
            "only): missing.py",
        ),
    ],
)
def test_a_tests_task_with_nothing_to_do_ends_at_once_and_never_climbs(
    tmp_path, server, capsys, task, files, reason
):
    server.script("intern-model", [reply(INTERN_TESTS)])
    repo = repo_of(tmp_path, server, files)
    code, result = run(capsys, repo, task, "--type", "tests")

    assert code == EXIT_NOTHING_TO_DO == 4
    assert result["status"] == "nothing-to-do"
    assert result["reason"] == reason
    assert [(a["tier"], a["outcome"]) for a in result["attempts"]] == [
        ("template", "nothing-to-do")
    ]
    assert server.requests == [] and result["cost_usd"] == 0 and result["branch"] is None


def test_an_empty_task_is_nothing_to_do_even_for_a_model_tier(tmp_path, server, capsys):
    repo = repo_of(tmp_path, server, {"calc.py": CALC})
    code, result = run(capsys, repo, "<!-- the issue template's comment, nothing else -->")
    assert code == EXIT_NOTHING_TO_DO
    assert result["reason"].startswith("the task is empty")
    assert result["attempts"] == [] and server.requests == []


def test_a_decline_climbs_and_the_status_line_says_why(tmp_path, server, capsys):
    server.script("intern-model", [reply(INTERN_TESTS)])
    repo = repo_of(tmp_path, server, {"calc.py": CALC, "tests/test_calc.py": ADD_TEST})
    main(["run", "--repo", str(repo), "Add a few more tests", "--type", "tests"])
    out = capsys.readouterr().out.strip().splitlines()[-1]
    assert out.startswith("done on tierbot/add-a-few-more-tests: check passed (template declined: ")
    assert "the task names no Python module to test" in out
    assert len(server.requests_for("intern-model")) == 1


def test_a_missing_key_says_which_variable_to_set(tmp_path, server, capsys, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    config = tier_config(server.url, junior_key_env="OPENAI_API_KEY")
    repo = make_repo(tmp_path / "repo", {"calc.py": CALC, ".github/tierbot.yml": config})
    code = main(
        ["run", "--repo", str(repo), "Implement mul in calc.py", "--type", "feature", "--no-plan"]
    )
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert code == EXIT_NEEDS_HUMAN
    assert "set OPENAI_API_KEY" in line
    assert "refused" not in line
    assert server.requests == []


def test_nothing_to_do_is_in_the_dry_run_plan(tmp_path, server, capsys):
    repo = repo_of(tmp_path, server, {"calc.py": CALC, "tests/test_calc.py": ADD_TEST})
    code = main(
        ["run", "--repo", str(repo), "--dry-run", "Add tests for calc.py", "--type", "tests"]
    )
    out = capsys.readouterr().out
    assert code == EXIT_DONE
    assert "ends the task, nothing to do: every public name already has a test" in out
