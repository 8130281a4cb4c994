"""How a task ends on GitHub when there is nothing to do, and why it started where it did."""

from __future__ import annotations

from bot.core.state import decode_marker
from tests.support.github_emulator import GitHubEmulator
from tests.support.repos import CALC, tier_config
from tests.support.server import TierbotProcesses, wait_until
from tests.test_e2e_github import CHECK, REPO, labels, models, pulls, status_comments, tierbot

pytest_plugins = ["tests.support.github_emulator.fixtures"]
__all__ = ["models", "tierbot"]  # fixtures

ADD_TEST = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
NEG = "\n\ndef neg(a):\n    return -a\n"


def make_repo(emulator: GitHubEmulator, models_url: str, files: dict[str, str], extra: str = ""):
    config = tier_config(models_url, check=CHECK, extra=extra)
    emulator.create_repo(REPO, {**files, ".github/tierbot.yml": config})
    emulator.add_collaborator(REPO, "alice", "write")


def wait_label(emulator: GitHubEmulator, procs: TierbotProcesses, number: int, label: str):
    wait_until(
        lambda: label in labels(emulator, number),
        timeout=90,
        what=lambda: f"the label {label}\n{procs.logs()}",
    )


def test_every_name_tested_ends_nothing_to_do_with_no_pr_and_no_charge(
    github_emulator, tierbot, models
):
    files = {"calc.py": CALC, "tests/__init__.py": "", "tests/test_add.py": ADD_TEST}
    make_repo(github_emulator, models.url, files)
    issue = github_emulator.open_issue(REPO, "Add skeleton tests for calc.py")
    tierbot.start_worker()
    github_emulator.label_issue(REPO, issue.number, "tierbot:tests", sender="alice")

    wait_label(github_emulator, tierbot, issue.number, "tierbot:nothing-to-do")
    [comment] = status_comments(github_emulator, issue.number)
    assert "nothing-to-do" in comment.body.splitlines()[0]
    assert "Nothing to do, nothing charged:" in comment.body
    assert "A human is needed" not in comment.body
    assert decode_marker(comment.body)["status"] == "nothing-to-do"
    assert pulls(github_emulator) == [] and models.requests == []
    assert not labels(github_emulator, issue.number) & {"tierbot:done", "tierbot:needs-human"}


def test_adaptive_routing_says_why_the_task_started_where_it_did(github_emulator, tierbot, models):
    files = {"calc.py": CALC + NEG, "tests/__init__.py": "", "tests/test_add.py": ADD_TEST}
    make_repo(github_emulator, models.url, files, extra="routing: adaptive\n")
    issue = github_emulator.open_issue(REPO, "Add skeleton tests for calc.py")
    tierbot.start_worker()
    github_emulator.label_issue(REPO, issue.number, "tierbot:tests", sender="alice")

    wait_label(github_emulator, tierbot, issue.number, "tierbot:done")
    [comment] = status_comments(github_emulator, issue.number)
    [why] = [line for line in comment.body.splitlines() if line.startswith("**Why it started")]
    assert "start at template (configured)" in why and "more" in why
