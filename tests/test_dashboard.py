"""Tests for bot/audit/dashboard.py: the PR cost table and the dashboard issue, end to end
through the real intake and worker processes against the GitHub emulator."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.adapters.ledger_audit import AuditRows
from bot.audit.dashboard import DASHBOARD_MARKER, DASHBOARD_TITLE, dashboard_body, pr_body
from bot.audit.model import summarize
from bot.core.calibration import Recommendation
from bot.core.types import Status
from bot.engine import AttemptSummary, RunResult
from tests.support.github_emulator import GitHubEmulator
from tests.support.model_server import ScriptedModelServer
from tests.support.repos import CALC, tier_config
from tests.support.server import TierbotProcesses, serving_app, wait_until

pytest_plugins = ["tests.support.github_emulator.fixtures"]

REPO = "octo/shop"
SECRET = "dashboard-webhook-secret"
CHECK = f"{sys.executable} -m pytest -q -p no:cacheprovider"


def test_pr_body_carries_its_own_cost_table_and_unknown_stays_unknown() -> None:
    result = RunResult(
        status=Status.DONE,
        reason="check passed",
        task_id=3,
        branch="tierbot/issue-4",
        cost_usd=0.0123,
        cost_unknown=True,
        senior_cost_usd=None,
        attempts=(
            AttemptSummary(1, "template", "declined", "", 0.0),
            AttemptSummary(2, "junior", "green", "", None),
            AttemptSummary(3, "junior", "green", "", 0.0123),
        ),
    )
    body = pr_body(4, result)
    assert body.startswith("Closes #4\n")
    assert "| 2 | junior | green | unknown |" in body
    assert "| 3 | junior | green | $0.0123 |" in body
    assert "**unknown (≥ $0.0123)**" in body
    assert "all on the senior tier: unknown" in body


def test_dashboard_body_with_nothing_yet() -> None:
    audit = summarize(AuditRows((), (), ()), ladder=("template", "senior"), repo=REPO)
    rec = Recommendation("tests", "template", (), None, "0 ended tests task(s); 20 more needed", 20)
    body = dashboard_body(audit, [rec], month="2025-03", now=datetime(2025, 3, 4, tzinfo=UTC))
    assert body.startswith(DASHBOARD_MARKER)
    assert "Nothing yet" in body and "| type |" not in body
    assert "**tests**: none yet — 0 ended tests task(s); 20 more needed" in body


# --- end to end ------------------------------------------------------------------------------


@pytest.fixture
def models() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer() as server:
        yield server


@pytest.fixture
def tierbot(tmp_path: Path, github_emulator: GitHubEmulator) -> Iterator[TierbotProcesses]:
    with serving_app(tmp_path, github_emulator, SECRET) as procs:
        yield procs


def _dashboards(emulator: GitHubEmulator) -> list:
    return [
        i
        for i in emulator.repo(REPO).issues.values()
        if i.pull is None and (i.title == DASHBOARD_TITLE or DASHBOARD_MARKER in (i.body or ""))
    ]


def _done(emulator: GitHubEmulator, number: int) -> bool:
    return "tierbot:done" in {lab.name for lab in emulator.repo(REPO).issues[number].labels}


def test_dashboard_is_one_issue_edited_after_each_task_and_survives_closing(
    github_emulator: GitHubEmulator, tierbot: TierbotProcesses, models: ScriptedModelServer
) -> None:
    config = tier_config(models.url, check=CHECK, extra="dashboard: true\n")
    files = {
        "calc.py": CALC,
        "shapes.py": "def area(w, h):\n    return w * h\n",
        "tests/__init__.py": "",
        ".github/tierbot.yml": config,
    }
    github_emulator.create_repo(REPO, files)
    github_emulator.add_collaborator(REPO, "alice", "write")
    tierbot.start_worker()

    first = github_emulator.open_issue(REPO, "Add skeleton tests for calc.py")
    github_emulator.label_issue(REPO, first.number, "tierbot:tests", sender="alice")
    wait_until(lambda: _done(github_emulator, first.number), timeout=90, what=tierbot.logs)
    wait_until(lambda: len(_dashboards(github_emulator)) == 1, timeout=20, what=tierbot.logs)
    [board] = _dashboards(github_emulator)
    wait_until(
        lambda: "tests | template | done" in (board.body or ""), timeout=20, what=tierbot.logs
    )
    assert board.title == DASHBOARD_TITLE and board.state == "open"
    assert "### Routing recommendations" in board.body
    [pr] = [i for i in github_emulator.repo(REPO).issues.values() if i.pull is not None]
    assert f"Closes #{first.number}" in pr.body
    assert "| 1 | template | green | $0.0000 |" in pr.body

    # A human rewrites and closes the dashboard; the next task reopens and rewrites it.
    github_emulator.repo(REPO).issues[board.number].body = "mine now"
    github_emulator.close_issue(REPO, board.number)
    second = github_emulator.open_issue(REPO, "Add skeleton tests for shapes.py")
    github_emulator.label_issue(REPO, second.number, "tierbot:tests", sender="alice")
    wait_until(lambda: _done(github_emulator, second.number), timeout=90, what=tierbot.logs)
    wait_until(
        lambda: board.state == "open" and "**2 tasks**" in (board.body or ""),
        timeout=20,
        what=tierbot.logs,
    )
    assert len(_dashboards(github_emulator)) == 1
