"""`tierbot run` beside the repository's hooks: tierbot's own let its commits through, others run.

Temporary real git repositories, real hooks, the scripted model server over HTTP.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import RUN_COMMIT_ENV
from bot.adapters.git.identity import OWN_HOOK_IDS, commit_env, refused_message
from bot.cli import EXIT_DONE, EXIT_NEEDS_HUMAN, main
from bot.hooks import common
from tests.support.model_server import ScriptedModelServer, reply
from tests.support.repos import CALC, GOOD_MUL, git, make_repo, tier_config


@pytest.fixture
def server() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer() as running:
        yield running


def run(capsys, repo: Path, *args: str) -> tuple[int, dict]:
    code = main(["run", "--repo", str(repo), "--json", *args])
    out, err = capsys.readouterr()
    assert out, err
    return code, json.loads(out)


def test_the_hook_and_the_adapter_agree_on_the_variable():
    assert common.RUN_COMMIT_ENV == RUN_COMMIT_ENV


def test_tierbot_hooks_let_a_run_commit_through(tmp_path, server, capsys):
    # Without the exemption, tierbot-tests would write tests for the new mul() and stop the
    # commit, and the task would climb the ladder for nothing.
    server.script("junior-model", [reply(GOOD_MUL)])
    repo = make_repo(tmp_path / "repo", {"calc.py": CALC, ".github/tierbot.yml": ""})
    (repo / ".github" / "tierbot.yml").write_text(tier_config(server.url, check=""))
    git(repo, "commit", "-qam", "config")
    assert main(["hooks", "install", "--repo", str(repo)]) == 0
    capsys.readouterr()

    code, result = run(
        capsys, repo, "Implement mul(a, b) in calc.py", "--type", "feature", "--no-plan"
    )

    assert code == EXIT_DONE, result
    assert [(a["tier"], a["outcome"]) for a in result["attempts"]] == [("junior", "green")]
    assert "def mul" in git(repo, "show", f"{result['branch']}:calc.py")
    # The hook still works for the user's own commits.
    (repo / "calc.py").write_text(CALC + "\n\ndef neg(a):\n    return -a\n")
    git(repo, "add", "calc.py")
    env = {k: v for k, v in os.environ.items() if k != RUN_COMMIT_ENV}
    refused = subprocess.run(
        ["git", "-c", "user.name=U", "-c", "user.email=u@e.x", "commit", "-qm", "neg"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
    )
    assert refused.returncode != 0 and "tierbot-tests" in refused.stdout + refused.stderr


def test_another_hook_still_runs_and_its_output_is_shown(tmp_path, server, capsys):
    server.script("junior-model", [reply(GOOD_MUL), reply(GOOD_MUL)])
    server.script("senior-model", [reply(GOOD_MUL), reply(GOOD_MUL)])
    repo = make_repo(tmp_path / "repo", {"calc.py": CALC, ".github/tierbot.yml": ""})
    (repo / ".github" / "tierbot.yml").write_text(tier_config(server.url, check=""))
    git(repo, "commit", "-qam", "config")
    hook = Path(git(repo, "rev-parse", "--git-path", "hooks").strip())
    if not hook.is_absolute():
        hook = repo / hook
    hook.mkdir(parents=True, exist_ok=True)
    script = hook / "pre-commit"
    script.write_text(
        "#!/bin/sh\necho 'checking names...'\n"
        "echo 'no-mul: calc.py may not define mul' >&2\nexit 1\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)

    code, result = run(
        capsys, repo, "Implement mul(a, b) in calc.py", "--type", "feature", "--no-plan"
    )

    assert code == EXIT_NEEDS_HUMAN
    detail = result["attempts"][0]["detail"]
    assert detail.startswith("git commit was rejected (a pre-commit hook?); it said:")
    assert "no-mul: calc.py may not define mul" in detail
    assert "no-mul: calc.py may not define mul" in result["detail"]


def test_pre_commit_framework_skips_only_tierbots_hooks():
    env = commit_env({"SKIP": "flake8"})
    assert env["SKIP"].split(",") == ["flake8", *OWN_HOOK_IDS]
    assert env[RUN_COMMIT_ENV] == "1"
    assert commit_env({})["SKIP"] == ",".join(OWN_HOOK_IDS)
    assert commit_env({"SKIP": "tierbot-tests"})["SKIP"] == ",".join(OWN_HOOK_IDS)


def test_a_silent_refusal_says_so():
    assert refused_message("") == "git commit failed (a hook rejected it without output)"
    many = "\n".join(f"line {i}" for i in range(30))
    shown = refused_message(many)
    assert "line 29" in shown and "line 17" not in shown
