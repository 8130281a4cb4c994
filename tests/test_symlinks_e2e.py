"""Committed symbolic links end to end: `tierbot run` and a GitHub worker with secrets planted.

Both run as real processes whose environment holds planted secrets, so ``envfile.txt ->
/proc/self/environ`` would show them; the scripted model server records every request it
received and none may hold a secret. The models answer with edits through the links: each is
refused as a policy violation, the task escalates, and a later tier's honest edit goes green.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from bot.adapters.ledger import SqlLedger
from bot.cli import EXIT_DONE
from tests.support.github_emulator import GitHubEmulator
from tests.support.model_server import ScriptedModelServer, Step, reply
from tests.support.repos import git, tier_config
from tests.support.server import TierbotProcesses, wait_until
from tests.support.symlinks import PAYLOAD, READS, WORKFLOW, links, make_attack

pytest_plugins = ["tests.support.github_emulator.fixtures"]

CALC = "def add(a, b):\n    return a + b\n"
MUL_TEST = "from calc import mul\n\n\ndef test_mul():\n    assert mul(2, 3) == 6\n"
GOOD = (
    "### calc.py\n```python\ndef add(a, b):\n    return a + b\n\n\n"
    "def mul(a, b):\n    return a * b\n```\n"
)
CHECK = f"{sys.executable} -m pytest -q -p no:cacheprovider"
TASK = "Add mul(a, b) to calc.py. Background: " + ", ".join(READS) + "."
PLANTED_KEY_LINE = "MIIEplantedPrivateKeyBodyLine0123456789abcdef"
REPO = "octo/linked"


def through(path: str) -> Step:
    return reply(f"### {path}\n```\n{PAYLOAD}\n```\n")


@pytest.fixture
def models() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer() as server:
        yield server


def planted(tmp_path: Path) -> dict[str, str]:
    return {
        "OPENAI_API_KEY": "sk-planted-openai-5f2a9c71",
        "TIERBOT_PRIVATE_KEY": (
            f"-----BEGIN RSA PRIVATE KEY-----\n{PLANTED_KEY_LINE}\n-----END RSA PRIVATE KEY-----\n"
        ),
        "TIERBOT_WEBHOOK_SECRET": "planted-webhook-secret-91d0aa",
        "TIERBOT_DB_URL": f"sqlite:///{tmp_path / 'ledger-planted-4e7b.sqlite3'}",
    }


def secret_values(env: Mapping[str, str]) -> list[str]:
    """What must never reach a model: each value, and each line of a multi-line one."""
    values = []
    for name in ("OPENAI_API_KEY", "TIERBOT_PRIVATE_KEY", "TIERBOT_WEBHOOK_SECRET"):
        values += [line for line in env[name].splitlines() if len(line) > 8 and "-----" not in line]
    values.append(env["TIERBOT_DB_URL"])
    return values


def assert_no_secret_reached(server: ScriptedModelServer, secrets: list[str]) -> None:
    assert server.requests
    for request in server.requests:
        sent = json.dumps(request.body)
        for secret in secrets:
            assert secret not in sent
        assert "OUTSIDE-SECRET" not in sent and "[core]" not in sent


def test_tierbot_run_refuses_edits_through_links_and_goes_green_above(tmp_path, models):
    models.script("intern-model", [through("wf/evil.yml"), through("shared/new.txt")])
    models.script("junior-model", [reply(GOOD)])
    attack = make_attack(
        tmp_path,
        {
            "calc.py": CALC,
            "tests/test_calc.py": MUL_TEST,
            ".github/tierbot.yml": tier_config(models.url),
        },
    )
    before = attack.snapshot(attack.repo / ".git", attack.repo / ".github")
    env = {**os.environ, **planted(tmp_path), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    command = ["run", "--repo", str(attack.repo), "--json", TASK, "--type", "boilerplate"]
    done = subprocess.run(
        [sys.executable, "-m", "bot", *command],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == EXIT_DONE, done.stderr
    result = json.loads(done.stdout)
    assert [(a["tier"], a["outcome"]) for a in result["attempts"]] == [
        ("template", "declined"),
        ("intern", "policy"),
        ("intern", "policy"),
        ("junior", "green"),
    ]
    assert "wf is a symbolic link (to .github/workflows)" in result["attempts"][1]["detail"]
    assert "shared is a symbolic link" in result["attempts"][2]["detail"]
    rows = SqlLedger(env["TIERBOT_DB_URL"]).attempts(result["task_id"])
    assert [r.outcome for r in rows] == ["declined", "policy", "policy", "green"]
    assert "wf is a symbolic link" in rows[1].detail

    assert_no_secret_reached(models, secret_values(env))
    assert "symbolic link" in models.requests_for("intern-model")[1].messages[-1]["content"]
    tree = git(attack.repo, "ls-tree", "-r", result["branch"])
    assert "evil.yml" not in tree and "new.txt" not in tree
    assert "120000 blob" in next(line for line in tree.splitlines() if line.endswith("\twf"))
    # The task's worktree lives under .git/tierbot and the ledger under .git is elsewhere; the
    # config, hooks and workflows are what a link could have rewritten.
    after = attack.snapshot(attack.repo / ".git", attack.repo / ".github")
    for path in [attack.repo / ".git" / "config", attack.repo / ".github/workflows/ci.yml"]:
        assert after[str(path)] == before[str(path)]
    assert not any(p.name == "pre-commit" for p in (attack.repo / ".git" / "hooks").iterdir())
    assert sorted(p.name for p in attack.outside.iterdir()) == ["secret.txt"]
    assert {k: v for k, v in after.items() if k.startswith(str(attack.outside))} == {
        k: v for k, v in before.items() if k.startswith(str(attack.outside))
    }


def push_links(emulator: GitHubEmulator, tmp_path: Path) -> Path:
    """Commit the hostile links on the default branch of the emulator's repository."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("OUTSIDE-SECRET on the worker's disk\n")
    work = tmp_path / "pusher"
    bare = emulator.repo(REPO).path
    git(tmp_path, "clone", "-q", str(bare), str(work))
    for name, target in links(outside).items():
        (work / name).symlink_to(target)
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "links")
    git(work, "push", "-q", "origin", "HEAD:main")
    return outside


def test_a_github_worker_refuses_edits_through_links_and_leaks_nothing(
    tmp_path, github_emulator, models
):
    models.script("intern-model", [through("g/config"), through("wf/evil.yml")])
    models.script("junior-model", [reply(GOOD)])
    github_emulator.create_repo(
        REPO,
        {
            "calc.py": CALC,
            "tests/test_calc.py": MUL_TEST,
            ".github/workflows/ci.yml": WORKFLOW,
            ".github/tierbot.yml": tier_config(models.url, check=CHECK),
        },
    )
    github_emulator.add_collaborator(REPO, "alice", "write")
    outside = push_links(github_emulator, tmp_path)
    secret = planted(tmp_path)
    procs = TierbotProcesses(
        tmp_path / "bot",
        {
            "TIERBOT_WEBHOOK_SECRET": secret["TIERBOT_WEBHOOK_SECRET"],
            "TIERBOT_APP_ID": str(github_emulator.app_id),
            "TIERBOT_PRIVATE_KEY": github_emulator.private_key_pem.decode(),
            "TIERBOT_GITHUB_API_URL": github_emulator.api_url,
            "OPENAI_API_KEY": secret["OPENAI_API_KEY"],
        },
    )
    (tmp_path / "bot").mkdir()
    github_emulator.set_webhook(procs.url, secret["TIERBOT_WEBHOOK_SECRET"])
    procs.start_web()
    try:
        issue = github_emulator.open_issue(REPO, "Add mul(a, b) to calc.py", TASK)
        procs.start_worker()
        github_emulator.label_issue(REPO, issue.number, "tierbot:boilerplate", sender="alice")
        wait_until(
            lambda: (
                {lb.name for lb in github_emulator.repo(REPO).issues[issue.number].labels}
                & {"tierbot:done", "tierbot:needs-human"}
            ),
            timeout=120,
            what=lambda: f"the task to end\n{procs.logs()}",
        )
        logs = procs.logs()
    finally:
        procs.stop()

    item = github_emulator.repo(REPO).issues[issue.number]
    assert "tierbot:done" in {label.name for label in item.labels}, logs
    [status] = [c for c in item.comments if "| intern | policy |" in c.body]
    assert status.body.count("| intern | policy |") == 2
    assert "g is a symbolic link" in status.body and "wf is a symbolic link" in status.body
    [pr] = [i for i in github_emulator.repo(REPO).issues.values() if i.pull is not None]
    tree = git(github_emulator.repo(REPO).path, "ls-tree", "-r", pr.pull.head_sha)
    assert "evil.yml" not in tree and "PWNED" not in tree
    assert "120000 blob" in next(line for line in tree.splitlines() if line.endswith("\tg"))
    assert_no_secret_reached(models, secret_values(procs.env))
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]
