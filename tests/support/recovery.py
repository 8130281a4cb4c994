"""Real tierbot processes on a chosen database, and what a stopped worker may leave running."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from bot.adapters.github_tasks import IssueTaskORM
from bot.adapters.ledger import AttemptRowORM, SqlLedger, TaskRowORM
from tests.support.github_emulator import GitHubEmulator
from tests.support.server import TierbotProcesses

SECRET = "recovery-webhook-secret"


def start_tierbot(tmp_path: Path, emulator: GitHubEmulator, db_url: str) -> TierbotProcesses:
    procs = TierbotProcesses(
        tmp_path,
        {
            "TIERBOT_DB_URL": db_url,
            "TIERBOT_WEBHOOK_SECRET": SECRET,
            "TIERBOT_APP_ID": str(emulator.app_id),
            "TIERBOT_PRIVATE_KEY": emulator.private_key_pem.decode(),
            "TIERBOT_GITHUB_API_URL": emulator.api_url,
        },
    )
    emulator.set_webhook(procs.url, SECRET)
    procs.start_web()
    return procs


def unfinished_rows(db_url: str) -> dict[str, int]:
    """Rows still marked running: ledger tasks, attempts without an outcome, issue tasks."""
    with SqlLedger(db_url) as ledger, ledger.read() as session:
        return {
            "tasks": session.scalar(select(func.count()).where(TaskRowORM.status == "running")),
            "attempts": session.scalar(select(func.count()).where(AttemptRowORM.outcome.is_(None))),
            "issue_tasks": session.scalar(
                select(func.count()).where(IssueTaskORM.status == "running")
            ),
        }
