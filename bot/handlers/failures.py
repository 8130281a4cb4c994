"""When a job of a running task fails for good: the task needs a human, and its comment says why."""

from __future__ import annotations

from bot.core.types import Status
from bot.dispatch import Router
from bot.events import Event
from bot.service.context import Context
from bot.service.failures import hand_over
from bot.service.issue_state import driven_by

router = Router()


@router.on_failure(
    "issues.labeled",
    "issues.unlabeled",
    "issues.closed",
    "issue_comment.created",
    "pull_request.closed",
    "check_suite.completed",
    "workflow_run.completed",
)
def hand_over_on_failure(event: Event, ctx: Context, why: str) -> None:
    """A job of a running task failed for good: the task needs a human, and says why."""
    if event.repo is None:
        return
    issue = event.task_issue if event.task_issue is not None else event.number
    item = ctx.store.get(event.repo.full_name, issue) if issue is not None else None
    if item is None or item.status != Status.RUNNING or not driven_by(event.head_sha, item):
        return
    hand_over(ctx, item, why)
