"""Tests for bot/audit/propose.py: ``tierbot calibrate --github OWNER/REPO [--apply]`` against
the GitHub emulator over loopback, with outcomes from status comments or a ledger database."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from bot.action import snapshot
from bot.adapters.ledger import SqlLedger
from bot.cli import main
from bot.config import load_config
from bot.core.types import Outcome, Status
from tests.support.audit_ledger import Call, Clock, History, Step, play
from tests.support.github_emulator import GitHubEmulator
from tests.support.github_emulator.gitrepo import git

pytest_plugins = ["tests.support.github_emulator.fixtures"]

REPO = "octo/shop"
BOT = "tierbot-ci[bot]"
BRANCH = "tierbot/calibrate"
CONFIG = """\
# The team's tierbot settings.
routing:
  min_history: 10   # a small repository
task_types:
  # tests went to the senior tier while we learned.
  tests: {start: senior, ceiling: senior}
"""


def _intern(done: bool) -> History:
    outcome = Outcome.GREEN if done else Outcome.CHECK_FAILED
    status = Status.DONE if done else Status.NEEDS_HUMAN
    return History("tests", "intern", (Step("intern", outcome, (Call(0.004),)),), status)


SENIOR = History("tests", "senior", (Step("senior", Outcome.GREEN, (Call(0.06),)),))
# intern: 5 of 6 done for $0.024 in all; senior: 5 of 5 done for $0.30.
HISTORY = [_intern(True)] * 5 + [_intern(False)] + [SENIOR] * 5


def seed(emulator: GitHubEmulator, tmp: Path, histories: list[History]) -> None:
    """One issue per task, each with a bot's status comment carrying its ledger rows."""
    emulator.user(BOT, type="Bot")
    numbers = [emulator.open_issue(REPO, f"task {i}").number for i in range(len(histories))]
    url = f"sqlite:///{tmp / f'seed-{numbers[0]}.sqlite3'}"
    named = [
        replace(h, repo=REPO, slug=f"issue-{n}") for h, n in zip(histories, numbers, strict=True)
    ]
    with SqlLedger(url) as ledger:
        play(ledger, Clock(), named)
    engine = create_engine(url)
    for n in numbers:
        rows = snapshot.dump(engine, repo=REPO, slug=f"issue-{n}", budget_key=f"{REPO}#{n}")
        block = snapshot.encode({"item": {"status": "done"}, "ledger": rows})
        emulator.comment(REPO, n, f"tierbot status\n<!-- tierbot:run {block} -->", user=BOT)
    engine.dispose()


@pytest.fixture
def hub(github_emulator: GitHubEmulator, monkeypatch: pytest.MonkeyPatch) -> GitHubEmulator:
    github_emulator.create_repo(REPO, {"calc.py": "x = 1\n", ".github/tierbot.yml": CONFIG})
    for name in ("TIERBOT_DB_URL", "GITHUB_TOKEN", "TIERBOT_BOT_LOGIN", "TIERBOT_GITHUB_API_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TIERBOT_GITHUB_TOKEN", github_emulator.issue_token(REPO))
    monkeypatch.setenv("GITHUB_API_URL", github_emulator.api_url)
    monkeypatch.setenv("TIERBOT_GITHUB_PACING", "off")
    return github_emulator


def pulls(hub: GitHubEmulator, repo: str = REPO) -> list:  # type: ignore[type-arg]
    return [i for i in hub.repo(repo).issues.values() if i.pull is not None]


def bare(hub: GitHubEmulator, *args: str, repo: str = REPO) -> str:
    return git(hub.repo(repo).path, *args)


def apply(*extra: str) -> int:
    return main(["calibrate", "--github", REPO, "--apply", *extra])


def test_apply_opens_one_pull_request_with_the_config_and_its_evidence(
    hub: GitHubEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(hub, tmp_path, HISTORY)
    assert apply() == 0
    out, err = capsys.readouterr()
    assert "tests: start at intern instead of senior" in out
    assert "opened pull request #12" in err and "task_types.tests.start: intern" in err

    (pr,) = pulls(hub)
    assert (pr.pull.head_ref, pr.pull.base_ref, pr.state) == (BRANCH, "main", "open")
    assert "| intern | 6 | 5 | 83% (44%–97%) | $0.0048 |" in pr.body
    assert "| senior | 5 | 5 | 100% (57%–100%) | $0.0600 |" in pr.body
    assert "### tests: start at intern instead of senior" in pr.body
    assert "### stub: no recommendation yet (0 ended stub task(s); 10 more needed" in pr.body
    assert "the status comments of octo/shop" in pr.body
    # One commit, changing the config alone; the team's comments stay.
    assert bare(hub, "diff", "--name-only", f"main...{BRANCH}").split() == [".github/tierbot.yml"]
    assert bare(hub, "rev-list", "--count", f"main..{BRANCH}").strip() == "1"
    text = bare(hub, "show", f"{BRANCH}:.github/tierbot.yml")
    assert "# The team's tierbot settings." in text and "min_history: 10   # a small" in text
    assert "# tests went to the senior tier while we learned." in text
    assert load_config(text).task_type("tests").start == "intern"

    # The same recommendation again: the same pull request, nothing new.
    assert apply() == 0
    err = capsys.readouterr().err
    assert "pull request #12" in err and "already proposes this; left as it is" in err
    assert len(pulls(hub)) == 1
    assert bare(hub, "rev-list", "--count", f"main..{BRANCH}").strip() == "1"

    # More history, same tier: the body's numbers follow, still one pull request and commit.
    seed(hub, tmp_path, [_intern(True)])
    assert apply() == 0
    assert "updated pull request #12" in capsys.readouterr().err
    (pr,) = pulls(hub)
    assert "| intern | 7 | 6 | 86% (49%–97%) | $0.0047 |" in pr.body
    assert bare(hub, "rev-list", "--count", f"main..{BRANCH}").strip() == "1"


def test_a_config_that_already_says_so_opens_no_pull_request(
    hub: GitHubEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hub.push_files(
        REPO, "main", {".github/tierbot.yml": CONFIG.replace("start: senior", "start: intern")}
    )
    seed(hub, tmp_path, HISTORY)
    assert apply() == 0
    err = capsys.readouterr().err
    assert "nothing to change: .github/tierbot.yml on main already starts tests at intern" in err
    assert "stub needs 10 more ended tasks" in err and "no pull request" in err
    assert pulls(hub) == [] and BRANCH not in bare(hub, "branch", "--list")


@pytest.mark.parametrize(("tasks", "needed"), [(0, 10), (6, 4)])
def test_too_little_history_opens_nothing_and_says_how_many_more(
    hub: GitHubEmulator,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    tasks: int,
    needed: int,
) -> None:
    if tasks:
        seed(hub, tmp_path, HISTORY[:tasks])
    assert apply() == 0
    out, err = capsys.readouterr()
    assert f"tests: no recommendation: {tasks} ended tests task(s); {needed} more needed" in out
    assert "nothing to change: no task type has a recommendation yet" in err
    assert f"tests needs {needed} more ended tasks" in err
    assert pulls(hub) == []


def test_a_repository_without_a_config_gets_one_from_the_server_ledger(
    hub: GitHubEmulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    hub.create_repo("octo/bare", {"README.md": "# bare\n"})
    monkeypatch.setenv("TIERBOT_GITHUB_TOKEN", hub.issue_token("octo/bare"))
    url = f"sqlite:///{tmp_path / 'server.sqlite3'}"
    monkeypatch.setenv("TIERBOT_DB_URL", url)
    # The defaults: tests start on the template tier and calibrate after 20 tasks.
    history = [_intern(True)] * 18 + [_intern(False)] * 2
    with SqlLedger(url) as ledger:
        play(ledger, Clock(), [replace(h, repo="octo/bare") for h in history])
    code = main(["calibrate", "--github", "octo/bare", "--repo", "octo/bare", "--apply"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "opened pull request #1" in err
    (pr,) = pulls(hub, "octo/bare")
    assert "| intern | 20 | 18 | 90% (70%–97%) | $0.0044 |" in pr.body
    assert "the ledger of octo/bare" in pr.body
    diff = bare(hub, "diff", "--name-only", f"main...{BRANCH}", repo="octo/bare")
    assert diff.split() == [".github/tierbot.yml"]
    text = bare(hub, "show", f"{BRANCH}:.github/tierbot.yml", repo="octo/bare")
    assert text == "task_types:\n  tests:\n    start: intern\n"


def test_without_apply_it_only_prints(
    hub: GitHubEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(hub, tmp_path, HISTORY)
    assert main(["calibrate", "--github", REPO, "--json"]) == 0
    data = {r["task_type"]: r for r in json.loads(capsys.readouterr().out)}
    assert data["tests"]["recommended"] == "intern" and data["tests"]["changes"]
    assert pulls(hub) == []


@pytest.mark.parametrize(
    ("args", "env", "code", "message"),
    [
        (["--github", "octo"], {}, 2, "--github takes OWNER/REPO, not 'octo'"),
        (["--github", "octo/sh op"], {}, 2, "not an owner/name repository: 'octo/sh op'"),
        (["--github", "octo/nope"], {}, 1, "no repository octo/nope on GitHub, or the token"),
        (["--github", REPO], {"TIERBOT_GITHUB_TOKEN": ""}, 2, "TIERBOT_GITHUB_TOKEN (or GITHUB"),
        (["--github", REPO], {"TIERBOT_GITHUB_TOKEN": "ghs_forged"}, 1, "GitHub refused the"),
    ],
)
def test_bad_inputs_are_clear_errors(
    hub: GitHubEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    env: dict[str, str],
    code: int,
    message: str,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["calibrate", "--apply", *args]) == code
    err = capsys.readouterr().err
    assert err.startswith("tierbot: error: ") and message in err
    assert pulls(hub) == []


def test_a_config_tierbot_refuses_is_an_error_and_proposes_nothing(
    hub: GitHubEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    hub.push_files(REPO, "main", {".github/tierbot.yml": "routing: sometimes\n"})
    assert apply() == 2
    assert "unknown value 'sometimes'" in capsys.readouterr().err
    assert pulls(hub) == []
