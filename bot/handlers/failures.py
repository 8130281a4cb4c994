"""When a job of a running task fails for good: the task needs a human, and its comment says why."""

from __future__ import annotations

from bot.actions import AddLabels
from bot.core.logs import scrub
from bot.core.types import Status
from bot.engine import AttemptSummary, RunResult, TaskRun, record_end
from bot.events import Event
from bot.handlers.context import NEEDS_HUMAN_LABEL, Context
from bot.handlers.tasks import driven_by, publish_status, task_slug
from bot.router import Router

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
    if item is None or item.status != Status.RUNNING or not driven_by(event, item):
        return
    reason = f"tierbot could not finish this task: {scrub(why)[:500]}"
    state = TaskRun.from_json(item.state) if item.state else None
    ctx.ledger.interrupt_unfinished(
        repo=item.repo,
        slug=task_slug(item.issue),
        keep_task=state.task_id if state else None,
        keep_attempt=None,
    )
    result = _ended(state, reason, item.branch) if state else None
    if result is not None:
        record_end(ctx.ledger, result)
    item.status = Status.NEEDS_HUMAN
    task_type = state.task.type if state else ""
    publish_status(ctx, item, task_type, f"A human is needed: {reason}.", result)
    for number in [item.issue] + ([item.pr_number] if item.pr_number else []):
        ctx.act(AddLabels(item.repo, number, (NEEDS_HUMAN_LABEL,)))
    item.state = None
    ctx.store.save(item)


def _ended(state: TaskRun, reason: str, branch: str) -> RunResult:
    """The task's steps so far, an attempt left waiting (for CI, or to commit) included."""
    steps = list(state.summaries)
    if state.pending is not None:
        p, r = state.pending, state.pending.result
        steps.append(
            AttemptSummary(
                p.number, p.tier, "interrupted", reason, r.cost_usd, commit_sha=r.commit_sha
            )
        )
    return RunResult(
        Status.NEEDS_HUMAN,
        reason,
        state.task_id,
        branch if any(a.commit_sha for a in steps) else None,
        sum(a.cost_usd or 0.0 for a in steps),
        state.unknown,
        state.senior_total,
        tuple(steps),
        state,
    )
