"""`tierbot run` end to end: temporary real git repos, the scripted model server over HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import EXIT_BUDGET_STOP, EXIT_DONE, EXIT_NEEDS_HUMAN, EXIT_USAGE, main
from tests.support.model_server import ScriptedModelServer, reply
from tests.support.repos import git, make_repo, tier_config, write

CALC = "def add(a, b):\n    return a + b\n"
MUL_TEST = "from calc import mul\n\n\ndef test_mul():\n    assert mul(2, 3) == 6\n"
ADD_TEST = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
GOOD_CALC = (
    "### calc.py\n```python\ndef add(a, b):\n    return a + b\n\n\n"
    "def mul(a, b):\n    return a * b\n```\n"
)
WRONG_CALC = (
    "### calc.py\n```python\ndef add(a, b):\n    return a + b\n\n\n"
    "def mul(a, b):\n    return a + b\n```\n"
)
BROKEN_CALC = "### calc.py\n```python\ndef mul(a, b)\n    return a * b\n```\n"


@pytest.fixture
def server() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer() as running:
        yield running


def repo_with(tmp_path: Path, server_url: str, files: dict[str, str], extra: str = "") -> Path:
    config = tier_config(server_url, extra=extra)
    return make_repo(tmp_path / "repo", {**files, ".github/tierbot.yml": config})


def tierbot(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, repo: Path, *args: str) -> tuple[int, dict]:
    code, out, err = tierbot(capsys, "run", "--repo", str(repo), "--json", *args)
    assert out, err
    return code, json.loads(out)


def outcomes(result: dict) -> list[tuple[str, str]]:
    return [(a["tier"], a["outcome"]) for a in result["attempts"]]


def report(capsys, repo: Path) -> dict:
    code, out, _ = tierbot(capsys, "report", "--repo", str(repo), "--json")
    assert code == 0
    return json.loads(out)


def test_template_tier_writes_tests_for_free(tmp_path, server, capsys):
    # tests/test_add.py covers add; sub is not tested yet.
    calc = CALC + "\n\ndef sub(a, b):\n    return a - b\n"
    repo = repo_with(tmp_path, server.url, {"calc.py": calc, "tests/test_add.py": ADD_TEST})
    code, result = run_json(capsys, repo, "Add skeleton tests for calc.py", "--type", "tests")

    assert code == EXIT_DONE
    assert result["status"] == "done"
    assert outcomes(result) == [("template", "green")]
    assert result["cost_usd"] == 0 and not result["cost_unknown"]
    assert result["senior_cost_usd"] > 0  # what a frontier model would have charged
    assert server.requests == []
    branch = result["branch"]
    assert branch == "tierbot/add-skeleton-tests-for-calc-py"
    assert "tests/test_calc.py" in git(repo, "show", "--name-only", "--format=", branch)
    trailers = git(repo, "log", "-1", "--format=%(trailers)", branch)
    assert "Tierbot-Tier: template" in trailers and "Tierbot-Task: add-skeleton" in trailers
    assert git(repo, "branch", "--show-current").strip() == "main"


def test_decline_then_bad_syntax_twice_then_junior(tmp_path, server, capsys):
    server.script("intern-model", [reply(BROKEN_CALC)])
    server.script("junior-model", [reply(GOOD_CALC)])
    repo = repo_with(tmp_path, server.url, {"calc.py": CALC, "tests/test_calc.py": MUL_TEST})
    code, result = run_json(
        capsys, repo, "Add a mul(a, b) function to calc.py", "--type", "boilerplate"
    )

    assert code == EXIT_DONE, result
    assert outcomes(result) == [
        ("template", "declined"),
        ("intern", "invalid-edit"),
        ("intern", "invalid-edit"),
        ("junior", "green"),
    ]
    intern = server.requests_for("intern-model")
    assert len(intern) == 2 and len(server.requests_for("junior-model")) == 1
    retry_prompt = intern[1].messages[-1]["content"]
    assert "do not parse" in retry_prompt and "calc.py:1" in retry_prompt
    junior = result["attempts"][3]
    assert junior["prompt_tokens"] > 0 and junior["completion_tokens"] > 0
    expected = (junior["prompt_tokens"] * 0.15 + junior["completion_tokens"] * 0.6) / 1e6
    assert result["cost_usd"] == pytest.approx(expected)
    assert result["attempts"][1]["cost_usd"] == 0  # the intern runs on loopback: free

    data = report(capsys, repo)
    totals = data["totals"][0]
    assert totals["spend_cost_usd"] == pytest.approx(expected)
    assert totals["senior_done_cost_usd"] > totals["done_spend_cost_usd"]
    assert "senior" in data["assumption"]
    spend = {(row["task_type"], row["tier"]): row for row in data["spend"]}
    assert spend[("boilerplate", "intern")]["calls"] == 2
    assert spend[("boilerplate", "junior")]["cost_usd"] == pytest.approx(expected)


def test_check_failure_retried_with_log_then_escalated(tmp_path, server, capsys):
    server.script(
        "intern-model", [reply(WRONG_CALC), reply(WRONG_CALC.replace("a + b\n```", "a - b\n```"))]
    )
    server.script("junior-model", [reply(GOOD_CALC)])
    repo = repo_with(tmp_path, server.url, {"calc.py": CALC, "tests/test_calc.py": MUL_TEST})
    code, result = run_json(capsys, repo, "Implement mul(a, b) in calc.py", "--type", "boilerplate")

    assert code == EXIT_DONE, result
    assert outcomes(result) == [
        ("template", "declined"),
        ("intern", "check-failed"),
        ("intern", "check-failed"),
        ("junior", "green"),
    ]
    retry_prompt = server.requests_for("intern-model")[1].messages[-1]["content"]
    assert "assert 5 == 6" in retry_prompt  # the pytest log excerpt reached the model
    log = git(repo, "log", "--format=%s %(trailers:key=Tierbot-Tier,valueonly)", result["branch"])
    assert log.count("intern") == 2 and log.count("junior") == 1


def test_an_edit_that_changes_nothing_is_invalid(tmp_path, server, capsys):
    server.script("intern-model", [reply(f"### calc.py\n```python\n{CALC}```\n")])
    server.script("junior-model", [reply(GOOD_CALC)])
    repo = repo_with(tmp_path, server.url, {"calc.py": CALC, "tests/test_calc.py": MUL_TEST})
    code, result = run_json(capsys, repo, "Implement mul in calc.py", "--type", "boilerplate")

    assert code == EXIT_DONE
    assert outcomes(result)[1] == ("intern", "invalid-edit")
    assert "leaves every file as it was" in result["attempts"][1]["detail"]


def test_budget_smaller_than_worst_case_stops_before_calling(tmp_path, server, capsys):
    repo = repo_with(
        tmp_path, server.url, {"calc.py": CALC}, extra="budget: {per_task_usd: 0.0001}\n"
    )
    code, result = run_json(
        capsys, repo, "Implement mul in calc.py", "--type", "feature", "--no-plan"
    )

    assert code == EXIT_BUDGET_STOP
    assert result["status"] == "budget-stop"
    assert "could cost up to" in result["reason"]
    assert server.requests == []
    assert result["branch"] is None
    assert "tierbot/" not in git(repo, "branch", "--list")


def test_protected_path_refused_recorded_and_escalated(tmp_path, server, capsys):
    sneaky = "### .github/workflows/ci.yml\n```yaml\non: push\njobs: {}\n```\n"
    server.script("intern-model", [reply(sneaky)])
    server.script("junior-model", [reply(GOOD_CALC)])
    repo = repo_with(tmp_path, server.url, {"calc.py": CALC, "tests/test_calc.py": MUL_TEST})
    code, result = run_json(capsys, repo, "Add mul to calc.py", "--type", "boilerplate")

    assert code == EXIT_DONE
    assert outcomes(result)[1:] == [
        ("intern", "policy"),
        ("intern", "policy"),
        ("junior", "green"),
    ]
    assert "protected" in result["attempts"][1]["detail"]
    files = git(repo, "log", "--name-only", "--format=", result["branch"])
    assert ".github/workflows" not in files


def test_model_server_down_is_recorded_and_ends_clearly(tmp_path, capsys):
    repo = repo_with(tmp_path, "http://127.0.0.1:9/v1", {"calc.py": CALC})
    code, result = run_json(capsys, repo, "Add mul to calc.py", "--type", "boilerplate")

    assert code == EXIT_NEEDS_HUMAN
    assert result["status"] == "needs-human"
    assert outcomes(result) == [
        ("template", "declined"),
        ("intern", "model-error"),
        ("junior", "model-error"),
    ]
    assert "unavailable" in result["attempts"][1]["detail"]
    data = report(capsys, repo)
    rates = {row["tier"]: row for row in data["green_rates"]}
    assert rates["intern"]["attempts"] == 1 and rates["intern"]["green"] == 0


def test_dirty_checkout_is_left_exactly_as_it_was(tmp_path, server, capsys):
    server.script("junior-model", [reply(GOOD_CALC)])
    repo = repo_with(tmp_path, server.url, {"calc.py": CALC, "tests/test_calc.py": MUL_TEST})
    write(repo, {"calc.py": CALC + "# my unsaved work\n", "notes.txt": "untracked\n"})
    before = (
        git(repo, "status", "--porcelain", "--untracked-files=all"),
        (repo / "calc.py").read_text(),
        git(repo, "rev-parse", "HEAD"),
    )

    code, result = run_json(
        capsys, repo, "Implement mul in calc.py", "--type", "feature", "--no-plan"
    )

    assert code == EXIT_DONE
    after = (
        git(repo, "status", "--porcelain", "--untracked-files=all"),
        (repo / "calc.py").read_text(),
        git(repo, "rev-parse", "HEAD"),
    )
    assert after == before
    assert "# my unsaved work" not in git(repo, "show", f"{result['branch']}:calc.py")


def test_dry_run_plans_without_calls_or_commits(tmp_path, server, capsys):
    repo = repo_with(tmp_path, server.url, {"calc.py": CALC})
    branches = git(repo, "branch", "--list")
    code, out, _ = tierbot(
        capsys,
        "run",
        "--repo",
        str(repo),
        "--dry-run",
        "Add a mul function to calc.py",
        "--type",
        "boilerplate",
    )

    assert code == 0
    assert "template" in out and "declines" in out
    assert "intern" in out and "junior" in out and "worst case" in out
    assert server.requests == []
    assert git(repo, "branch", "--list") == branches

    issue = tmp_path / "task.md"
    issue.write_text("Add skeleton tests for calc.py\n")
    code, out, _ = tierbot(
        capsys,
        "run",
        "--repo",
        str(repo),
        "--dry-run",
        "--json",
        "--issue-file",
        str(issue),
        "--type",
        "tests",
    )
    plan = json.loads(out)
    # A new tests/ package: pytest then puts the root on sys.path, so `import calc` works.
    assert plan["tiers"][0]["note"] == "would write tests/__init__.py, tests/test_calc.py"
    assert plan["tiers"][2]["worst_per_call_usd"] > 0


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("budgett: 1\n", ".github/tierbot.yml: budgett: unknown key (allowed:"),
        ("tiers: {junior: {max_tokens: many}}\n", "tiers.junior.max_tokens: expected an integer"),
        (
            "task_types: {tests: {start: wizard}}\n",
            "task_types.tests.start: unknown value 'wizard' (allowed: template, intern, junior",
        ),
    ],
    ids=["unknown-key", "wrong-type", "unknown-tier"],
)
def test_invalid_config_exits_2_naming_file_key_and_allowed(tmp_path, capsys, config, message):
    repo = make_repo(tmp_path / "repo", {"calc.py": CALC, ".github/tierbot.yml": config})
    code, _, err = tierbot(capsys, "run", "--repo", str(repo), "x", "--type", "tests")
    assert code == EXIT_USAGE
    assert message in err
    assert "tierbot/" not in git(repo, "branch", "--list")


def test_not_a_git_repository(tmp_path, capsys):
    code, _, err = tierbot(capsys, "run", "--repo", str(tmp_path), "x", "--type", "tests")
    assert code == EXIT_USAGE
    assert "is not inside a git repository" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--type", "tests"], "no task given"),
        (["x", "--type", "wizardry"], "unknown task type 'wizardry'"),
        (["x", "--type", "review"], "review tasks comment on a pull request"),
        (["--issue-file", "missing.md"], "cannot read --issue-file"),
    ],
    ids=["no-task", "unknown-type", "comment-type", "missing-issue-file"],
)
def test_bad_arguments_exit_2(tmp_path, capsys, args, message):
    repo = make_repo(tmp_path / "repo", {"calc.py": CALC})
    code, _, err = tierbot(capsys, "run", "--repo", str(repo), *args)
    assert code == EXIT_USAGE
    assert message in err


def test_repo_without_commits(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    git(tmp_path / "empty", "init", "-q")
    code, _, err = tierbot(capsys, "run", "--repo", str(tmp_path / "empty"), "x", "--type", "tests")
    assert code == EXIT_USAGE
    assert "no commits yet" in err


def test_missing_usage_is_recorded_as_unknown_never_zero(tmp_path, server, capsys):
    from tests.support.model_server import reply_without_usage

    server.script("junior-model", [reply_without_usage(GOOD_CALC)])
    repo = repo_with(tmp_path, server.url, {"calc.py": CALC, "tests/test_calc.py": MUL_TEST})
    code, result = run_json(
        capsys, repo, "Implement mul in calc.py", "--type", "feature", "--no-plan"
    )

    assert code == EXIT_DONE
    assert result["cost_unknown"] is True
    assert result["attempts"][0]["cost_usd"] is None
    data = report(capsys, repo)
    assert data["totals"][0]["spend_cost_usd"] == "unknown"


def test_day_budget_counts_earlier_tasks(tmp_path, server, capsys):
    server.script("junior-model", [reply(GOOD_CALC)])
    repo = repo_with(tmp_path, server.url, {"calc.py": CALC, "tests/test_calc.py": MUL_TEST})
    _, out, _ = tierbot(
        capsys,
        "run",
        "--repo",
        str(repo),
        "--dry-run",
        "--json",
        "Implement mul in calc.py",
        "--type",
        "feature",
        "--no-plan",
    )
    worst = json.loads(out)["tiers"][0]["worst_per_call_usd"]
    # Room for exactly one worst case today: the first task fits, the second cannot.
    config = repo / ".github/tierbot.yml"
    config.write_text(
        config.read_text() + f"budget: {{per_task_usd: 1.0, per_day_usd: {worst + 1e-7}}}\n"
    )
    git(repo, "commit", "-qam", "day budget")
    code, first = run_json(
        capsys, repo, "Implement mul in calc.py", "--type", "feature", "--no-plan"
    )
    assert code == EXIT_DONE and first["cost_usd"] > 1e-7

    code, second = run_json(
        capsys, repo, "Implement mul again in calc.py", "--type", "feature", "--no-plan"
    )
    assert code == EXIT_BUDGET_STOP
    assert "more than the" in second["reason"]
    assert len(server.requests_for("junior-model")) == 1


def test_missing_api_key_fails_fast_with_the_variable_name(tmp_path, server, capsys, monkeypatch):
    # Not a TIERBOT_* name: tierbot's own settings are never a model key (tests/test_secrets.py).
    monkeypatch.delenv("TEST_MISSING_MODEL_KEY", raising=False)
    monkeypatch.setenv("TIERBOT_ALLOWED_KEY_ENVS", "TEST_MISSING_MODEL_KEY")
    config = tier_config(server.url, junior_key_env="TEST_MISSING_MODEL_KEY")
    repo = make_repo(tmp_path / "repo", {"calc.py": CALC, ".github/tierbot.yml": config})
    code, result = run_json(
        capsys, repo, "Implement mul in calc.py", "--type", "feature", "--no-plan"
    )

    assert code == EXIT_NEEDS_HUMAN
    assert outcomes(result) == [("junior", "auth-error")]
    assert "TEST_MISSING_MODEL_KEY" in result["attempts"][0]["detail"]
    assert server.requests == []


def test_files_too_large_for_a_tier_climb_without_a_call(tmp_path, server, capsys):
    server.script("junior-model", [reply(GOOD_CALC)])
    big = CALC + "".join(f"VALUE_{i} = {i}\n" for i in range(3000))
    repo = repo_with(tmp_path, server.url, {"calc.py": big, "tests/test_calc.py": MUL_TEST})
    config = (
        (repo / ".github/tierbot.yml")
        .read_text()
        .replace(
            "max_tokens: 2000\n    context_tokens: 16000\n    timeout: 10\n  junior",
            "max_tokens: 2000\n    context_tokens: 4000\n    timeout: 10\n  junior",
            1,
        )
    )
    (repo / ".github/tierbot.yml").write_text(config)
    git(repo, "commit", "-qam", "small intern")
    _, result = run_json(capsys, repo, "Add mul to calc.py", "--type", "boilerplate")

    assert outcomes(result)[:2] == [("template", "declined"), ("intern", "context-exceeded")]
    assert server.requests_for("intern-model") == []
