"""What a task tells people: its status comment, its outcome label, a config it cannot read."""

from __future__ import annotations

from bot.actions import AddLabels, UpsertComment
from bot.config import ConfigError
from bot.core.state import MARKER_PREFIX, StepLine, render_status
from bot.core.types import Status
from bot.engine import RunResult
from bot.orchestrator.triage import Decision
from bot.ports.tasks import IssueTask
from bot.service.context import DONE_LABEL, NEEDS_HUMAN_LABEL, NOTHING_TO_DO_LABEL, Context

CONFIG_MARKER = "<!-- tierbot:config-error -->"


def next_text(result: RunResult | None) -> str:
    if result is None:
        return "the first attempt"
    if result.status is Status.RUNNING:
        return "CI on the pushed commit: green ends the task, red retries or escalates"
    if result.status is Status.DONE:
        return "review and merge the pull request"
    if result.status is Status.NOTHING_TO_DO:
        return "nothing; edit the issue and relabel it if there is work after all"
    return "a maintainer decides; relabel the issue to try again"


def publish_status(
    ctx: Context, item: IssueTask, task_type: str, text: str, result: RunResult | None
) -> None:
    """Create or edit the issue's status comment (found again by its hidden marker)."""
    steps = [
        StepLine(a.number, a.tier, a.outcome, a.detail, a.cost_usd)
        for a in (result.attempts if result else ())
    ]
    status = str(result.status) if result else str(item.status)
    decision = Decision.from_json(item.triage) if item.triage else None
    if decision is not None:
        text = f"{decision.line()}\n\n{text}"
    body = render_status(
        issue=item.issue,
        task_type=task_type or (decision.type if decision else item.label.removeprefix("tierbot:")),
        status=status,
        headline=text,
        steps=steps,
        cost_usd=(None if result.cost_unknown else result.cost_usd) if result else 0.0,
        senior_cost_usd=result.senior_cost_usd if result else 0.0,
        next_step=next_text(result) if result or status == Status.RUNNING else "",
        marker={"task": item.task_id, "status": status, "pr": item.pr_number},
        start_reason=result.state.start_reason if result and result.state else "",
    )
    applied = ctx.executor.apply(UpsertComment(item.repo, item.issue, MARKER_PREFIX, body))
    if applied.comment_id is not None:
        item.comment_id = applied.comment_id
        ctx.store.save(item)


def label_outcome(ctx: Context, item: IssueTask, status: Status) -> None:
    """Label the issue (and its PR) with how the task ended; a running or stopped one has none."""
    label = {
        Status.DONE: DONE_LABEL,
        Status.NEEDS_HUMAN: NEEDS_HUMAN_LABEL,
        Status.NOTHING_TO_DO: NOTHING_TO_DO_LABEL,
    }.get(status)
    if label is None:
        return
    for number in [item.issue] + ([item.pr_number] if item.pr_number else []):
        ctx.executor.apply(AddLabels(item.repo, number, (label,)))


def report_config_error(ctx: Context, repo: str, issue: int, error: ConfigError) -> None:
    body = (
        f"{CONFIG_MARKER}\n### ⚠️ tierbot cannot read `{error.file}`\n\n"
        f"`{error.key}`: {error.problem}"
        + (f"\n\nAllowed: {error.allowed}" if error.allowed else "")
        + "\n\nNothing was done. Fix the file on the default branch and relabel the issue."
    )
    ctx.executor.apply(UpsertComment(repo, issue, CONFIG_MARKER, body))


def headline(result: RunResult, item: IssueTask) -> str:
    pr = f"#{item.pr_number}" if item.pr_number else "the pull request"
    if result.status is Status.RUNNING:
        last = result.attempts[-1] if result.attempts else None
        tier = f" by the {last.tier} tier" if last else ""
        return f"A commit{tier} is on {pr}; waiting for CI to decide."
    if result.status is Status.DONE:
        return f"Done: CI is green on {pr}."
    if result.status is Status.BUDGET_STOP:
        return f"Stopped by the budget: {result.reason}."
    if result.status is Status.NOTHING_TO_DO:
        return f"Nothing to do, nothing charged: {result.reason}."
    return f"A human is needed: {result.reason}."
