"""CI on tierbot's own pull requests decides: done, retry, escalate, or hand to a human."""

from __future__ import annotations

from bot.dispatch import Router
from bot.events import Event
from bot.service.ci import take_ci
from bot.service.context import Context

router = Router()


@router.on("check_suite.completed", "workflow_run.completed")
def escalate_on_red_ci(event: Event, ctx: Context) -> None:
    issue = event.task_issue
    if issue is None or event.repo is None or event.conclusion is None:
        return
    item = ctx.store.get(event.repo.full_name, issue)
    if item is not None and item.state:
        take_ci(ctx, event, item)
