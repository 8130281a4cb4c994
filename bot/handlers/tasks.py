"""Label an issue, get a PR: start a task on a task-type label, cancel it when the label goes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from bot.actions import AddLabels, OpenPull, RemoveLabel, UpsertComment
from bot.adapters.git import PushingWorkspace
from bot.adapters.github_tasks import IssueTask, Refusal
from bot.config import ConfigError, RepoConfig
from bot.core.routing import type_for_label
from bot.core.state import MARKER_PREFIX, StepLine, render_status
from bot.core.types import Status, Task
from bot.engine import Engine, RunResult, make_task
from bot.events import Event, RepoRef
from bot.executor import Executor
from bot.handlers.context import DONE_LABEL, NEEDS_HUMAN_LABEL, Context, RemoteChecks
from bot.router import Router

router = Router()
STATUS_LABELS = frozenset({DONE_LABEL, NEEDS_HUMAN_LABEL})
CONFIG_MARKER = "<!-- tierbot:config-error -->"
Step = Callable[[Engine, PushingWorkspace, Executor], RunResult]


def task_branch(issue: int) -> str:
    return f"tierbot/issue-{issue}"


def issue_task(repo: str, issue: int, task_type: str, *, title: str, text: str) -> Task:
    """The task of an issue. Every run for the issue (the first, `/tierbot retry`, `/tierbot
    escalate`, a relabel) shares one budget key, so `budget.per_task_usd` caps their total."""
    task = make_task(f"{title}\n\n{text}", task_type, title=title)
    return replace(task, slug=f"issue-{issue}", budget_key=f"{repo}#{issue}")


@router.on("issues.labeled")
def start_task_on_label(event: Event, ctx: Context) -> None:
    label = event.label or ""
    if event.is_pull_request or not label.startswith("tierbot:") or label in STATUS_LABELS:
        return
    assert event.repo is not None and event.number is not None
    repo, issue = event.repo.full_name, event.number
    refusal = ctx.sender_may_act(event)
    if refusal is not None:
        sender = event.sender.login if event.sender else "?"
        ctx.store.refuse(Refusal(repo, issue, sender, event.kind, refusal))
        ctx.echo(f"refused {event.kind} on {repo}#{issue}: {refusal}")
        return
    config = ctx.repo_config(event)
    if isinstance(config, ConfigError):
        report_config_error(ctx, repo, issue, config)
        return
    task_type = type_for_label(config, label)
    if task_type is None or config.task_type(task_type).output != "commit":
        return
    existing = ctx.store.get(repo, issue)
    if (
        existing is not None
        and existing.label == label
        and (
            existing.status == Status.DONE or (existing.status == Status.RUNNING and existing.state)
        )
    ):
        # A duplicate event: the task is done, or its commit is waiting for CI. A task that
        # is "running" without saved state was cut off (a worker died) and starts again.
        ctx.echo(f"{repo}#{issue} already has a {existing.status} task for {label}; ignored")
        return
    spec = config.task_type(task_type)
    if ctx.dry_run:
        ctx.echo(
            f"would run a {task_type} task for {repo}#{issue} on {task_branch(issue)}, "
            f"from {spec.start} up to {spec.ceiling}, then open a pull request"
        )
        return
    task = issue_task(repo, issue, task_type, title=event.title, text=event.body)
    item = IssueTask(
        repo,
        issue,
        label=label,
        branch=task_branch(issue),
        status=Status.RUNNING,
        comment_id=existing.comment_id if existing else None,
        pr_number=existing.pr_number if existing else None,
    )
    ctx.store.save(item)
    publish_status(ctx, item, task.type, "Starting: the task climbs the tier ladder.", None)
    drive(ctx, event.repo, config, item, lambda engine, ws, ex: engine.run(task, ws, ex))


@router.on("issues.unlabeled", "issues.closed", "pull_request.closed")
def cancel_task(event: Event, ctx: Context) -> None:
    if event.repo is None:
        return
    issue = event.task_issue if event.name == "pull_request" else event.number
    if issue is None:
        return
    item = ctx.store.get(event.repo.full_name, issue)
    if item is None or item.status != Status.RUNNING:
        return
    if event.action == "unlabeled" and event.label != item.label:
        return
    if event.name == "pull_request" and event.payload.get("pull_request", {}).get("merged"):
        return
    reason = {
        "unlabeled": f"the label {item.label} was removed",
        "closed": "the issue or pull request was closed",
    }[event.action or "closed"]
    cancel_item(ctx, item, reason)


def cancel_item(ctx: Context, item: IssueTask, reason: str) -> None:
    """End a running task as cancelled: in the ledger, the store and the status comment."""
    if ctx.dry_run:
        ctx.echo(f"would cancel the task of {item.repo}#{item.issue}: {reason}")
        return
    item.status, item.state = Status.CANCELLED, None
    if item.task_id is not None:
        ctx.ledger.finish_task(
            item.task_id,
            status=Status.CANCELLED,
            reason=reason,
            branch=item.branch,
            cost_usd=None,
            senior_cost_usd=None,
        )
    ctx.store.save(item)
    publish_status(ctx, item, "", f"Cancelled: {reason}.", None)


def restart_task(
    ctx: Context,
    repo_ref: RepoRef,
    config: RepoConfig,
    item: IssueTask,
    *,
    start: str,
    text: str,
    title: str,
    why: str,
) -> None:
    """Run the issue's task again from ``start`` up to its configured ceiling, on its branch
    and PR (``/tierbot retry`` and ``/tierbot escalate``). Only the start tier moves: the
    ceiling, budgets and paths stay what the config says."""
    task_type = type_for_label(config, item.label)
    if task_type is None:
        raise ValueError(f"{item.label} is no longer a task label in {config.source}")
    spec = config.task_type(task_type)
    ladder = config.ladder
    if ladder.index(start) > ladder.index(spec.ceiling):
        raise ValueError(f"{start} is above the ceiling {spec.ceiling} of {task_type} tasks")
    if ctx.dry_run:
        ctx.echo(f"would restart the task of {item.repo}#{item.issue} at {start}: {why}")
        return
    restarted = replace(
        config, task_types={**config.task_types, task_type: replace(spec, start=start)}
    )
    task = issue_task(item.repo, item.issue, task_type, title=title, text=text)
    item.status, item.state = Status.RUNNING, None
    ctx.store.save(item)
    for number in [item.issue] + ([item.pr_number] if item.pr_number else []):
        for label in sorted(STATUS_LABELS):
            ctx.act(RemoveLabel(item.repo, number, label))
    publish_status(ctx, item, task_type, why, None)
    drive(ctx, repo_ref, restarted, item, lambda engine, ws, ex: engine.run(task, ws, ex))


def drive(ctx: Context, repo_ref: RepoRef, config: RepoConfig, item: IssueTask, step: Step) -> None:
    """Check out the task branch, let the engine take its step, then report what happened."""
    repo = repo_ref.full_name
    clone = ctx.github.clone(repo, ctx.fresh_dir(repo, item.issue))
    workspace = PushingWorkspace.on_branch(
        clone, item.branch, repo_ref.default_branch, ctx.github.push
    )
    engine = make_engine(ctx, config, repo)
    executor = Executor(forge=engine.forge, workspace=workspace, dry_run=False)
    result = step(engine, workspace, executor)
    conclude(ctx, repo_ref, item, result, diagnose_with=config)


def make_engine(ctx: Context, config: RepoConfig, repo: str) -> Engine:
    return Engine(
        config=config,
        models=ctx.models,
        ledger=ctx.ledger,
        forge=RemoteChecks(),
        prices=ctx.prices,
        repo=repo,
        progress=ctx.echo,
    )


def conclude(
    ctx: Context,
    repo_ref: RepoRef,
    item: IssueTask,
    result: RunResult,
    *,
    diagnose_with: RepoConfig | None = None,
) -> None:
    """Open the PR if needed, store the state, edit the status comment, label the outcome.

    With ``diagnose_with``, a task that climbed to its ceiling on red CI also gets a senior
    diagnosis of the failing logs on its PR.
    """
    repo = repo_ref.full_name
    if result.branch and item.pr_number is None:
        found = ctx.github.find_pull(repo, item.branch)
        if found is None:
            title = result.state.task.title if result.state else f"tierbot: issue {item.issue}"
            found = ctx.act(
                OpenPull(
                    repo,
                    item.branch,
                    repo_ref.default_branch,
                    title,
                    f"Closes #{item.issue}\n\nWritten by tierbot; progress and costs are in "
                    f"the status comment on #{item.issue}.",
                )
            )
        item.pr_number = found.number
    item.task_id = result.task_id
    item.status = result.status
    item.state = (
        result.state.to_json() if result.status is Status.RUNNING and result.state else None
    )
    ctx.store.save(item)
    task_type = result.state.task.type if result.state else ""
    publish_status(ctx, item, task_type, headline(result, item), result)
    numbers = [item.issue] + ([item.pr_number] if item.pr_number else [])
    if result.status is Status.DONE:
        for number in numbers:
            ctx.act(AddLabels(repo, number, (DONE_LABEL,)))
    elif result.status is Status.NEEDS_HUMAN:
        for number in numbers:
            ctx.act(AddLabels(repo, number, (NEEDS_HUMAN_LABEL,)))
        red_ci = bool(result.attempts) and result.attempts[-1].outcome == "check-failed"
        if diagnose_with is not None and red_ci and item.pr_number is not None:
            from bot.handlers.debug import diagnose_pull

            try:
                diagnose_pull(ctx, repo_ref, item.pr_number, diagnose_with)
            except Exception as exc:  # the task's outcome is stored; a lost diagnosis is not
                ctx.echo(f"diagnosis of {repo}#{item.pr_number} failed: {exc}")


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
    return f"A human is needed: {result.reason}."


def next_text(result: RunResult | None) -> str:
    if result is None:
        return "the first attempt"
    if result.status is Status.RUNNING:
        return "CI on the pushed commit: green ends the task, red retries or escalates"
    if result.status is Status.DONE:
        return "review and merge the pull request"
    return "a maintainer decides; relabel the issue to try again"


def publish_status(
    ctx: Context, item: IssueTask, task_type: str, text: str, result: RunResult | None
) -> None:
    steps = [
        StepLine(a.number, a.tier, a.outcome, a.detail, a.cost_usd)
        for a in (result.attempts if result else ())
    ]
    status = str(result.status) if result else str(item.status)
    body = render_status(
        issue=item.issue,
        task_type=task_type or item.label.removeprefix("tierbot:"),
        status=status,
        headline=text,
        steps=steps,
        cost_usd=(None if result.cost_unknown else result.cost_usd) if result else 0.0,
        senior_cost_usd=result.senior_cost_usd if result else 0.0,
        next_step=next_text(result) if result or status == Status.RUNNING else "",
        marker={"task": item.task_id, "status": status, "pr": item.pr_number},
    )
    comment_id = ctx.act(UpsertComment(item.repo, item.issue, MARKER_PREFIX, body))
    if isinstance(comment_id, int):
        item.comment_id = comment_id
        ctx.store.save(item)


def report_config_error(ctx: Context, repo: str, issue: int, error: ConfigError) -> None:
    body = (
        f"{CONFIG_MARKER}\n### ⚠️ tierbot cannot read `{error.file}`\n\n"
        f"`{error.key}`: {error.problem}"
        + (f"\n\nAllowed: {error.allowed}" if error.allowed else "")
        + "\n\nNothing was done. Fix the file on the default branch and relabel the issue."
    )
    ctx.act(UpsertComment(repo, issue, CONFIG_MARKER, body))
