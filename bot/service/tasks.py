"""The task service: start, drive, conclude, resume, restart and cancel an issue's task.

Handlers, the CI gate and the comment commands call these after their gates; every write goes
through the job's one executor (``ctx.executor``), and a dry run is the executor's to decide.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from bot.actions import OpenPull, RemoveLabel
from bot.audit.dashboard import publish_audit
from bot.config import RepoConfig
from bot.core.triage_words import FEATURE
from bot.core.types import Status
from bot.engine import Engine, RunResult, TaskRun
from bot.events import RepoRef
from bot.executor import Executor
from bot.orchestrator.github import is_feature_state, run_feature_issue
from bot.ports.github import BranchWorkspace
from bot.ports.tasks import IssueTask
from bot.service.context import DONE_LABEL, NEEDS_HUMAN_LABEL, NOTHING_TO_DO_LABEL, Context
from bot.service.diagnosis import diagnose_red_ceiling
from bot.service.issue_state import (
    interrupted,
    issue_task,
    item_type,
    task_branch,
    task_slug,
    waiting_for_ci,
)
from bot.service.status import headline, label_outcome, publish_status

STATUS_LABELS = frozenset({DONE_LABEL, NEEDS_HUMAN_LABEL, NOTHING_TO_DO_LABEL})
Step = Callable[[Engine, BranchWorkspace, Executor], RunResult]


def start(
    ctx: Context,
    repo_ref: RepoRef,
    config: RepoConfig,
    *,
    issue: int,
    label: str,
    task_type: str,
    title: str,
    text: str,
    triage: dict[str, Any] | None = None,
) -> None:
    """Start the issue's task for ``label``; a duplicate event is ignored, a task whose worker
    stopped is resumed, anything else (re)starts from the configured start tier. ``triage``:
    the decision that chose ``task_type`` (``tierbot:auto``), kept with the task."""
    repo = repo_ref.full_name
    existing = ctx.store.get(repo, issue)
    if existing is not None and existing.label == label:
        if existing.status == Status.DONE or waiting_for_ci(existing):
            ctx.echo(f"{repo}#{issue} already has a {existing.status} task for {label}; ignored")
            return
        if interrupted(existing):
            resume(ctx, repo_ref, config, existing)
            return
        # "running" without a saved state: cut off before its first step; it starts again.
    spec = config.task_type(task_type)

    def work() -> None:
        task = issue_task(repo, issue, task_type, title=title, text=text)
        # Whatever an earlier run of this issue left running is finished as superseded.
        ctx.ledger.interrupt_unfinished(
            repo=repo, slug=task.slug, keep_task=None, keep_attempt=None
        )
        item = IssueTask(
            repo,
            issue,
            label=label,
            branch=task_branch(issue),
            status=Status.RUNNING,
            comment_id=existing.comment_id if existing else None,
            pr_number=existing.pr_number if existing else None,
            triage=triage,
        )
        ctx.store.save(item)
        if task.type == FEATURE:  # the orchestrator: a plan of subtasks, each on its own ladder
            publish_status(ctx, item, task.type, "Starting: the planner splits the issue.", None)
            run_feature_issue(ctx, repo_ref, config, item, task=task)
            return
        publish_status(ctx, item, task.type, "Starting: the task climbs the tier ladder.", None)
        drive(ctx, repo_ref, config, item, lambda engine, ws, ex: engine.run(task, ws, ex))

    ctx.executor.begin(
        f"run a {task_type} task for {repo}#{issue} on {task_branch(issue)}, "
        f"from {spec.start} up to {spec.ceiling}, then open a pull request",
        work,
    )


def cancel(ctx: Context, item: IssueTask, reason: str) -> None:
    """End a running task as cancelled: in the ledger, the store and the status comment."""

    def work() -> None:
        if item.task_id is not None:
            ctx.ledger.interrupt_unfinished(
                repo=item.repo,
                slug=task_slug(item.issue),
                keep_task=item.task_id,
                keep_attempt=None,
            )
            ctx.ledger.finish_task(
                item.task_id,
                status=Status.CANCELLED,
                reason=reason,
                branch=item.branch,
                cost_usd=None,
                senior_cost_usd=None,
            )
        # Until the comment is published the task stays running, so a worker stopped before
        # then cancels it again when the job is retried.
        item.status = Status.CANCELLED
        publish_status(ctx, item, "", f"Cancelled: {reason}.", None)
        item.state = None
        ctx.store.save(item)

    ctx.executor.begin(f"cancel the task of {item.repo}#{item.issue}: {reason}", work)


def restart(
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
    task_type = item_type(config, item)
    if task_type is None:
        raise ValueError(f"{item.label} is no longer a task label in {config.source}")
    spec = config.task_type(task_type)
    ladder = config.ladder
    if ladder.index(start) > ladder.index(spec.ceiling):
        raise ValueError(f"{start} is above the ceiling {spec.ceiling} of {task_type} tasks")
    restarted = replace(
        config, task_types={**config.task_types, task_type: replace(spec, start=start)}
    )
    task = issue_task(item.repo, item.issue, task_type, title=title, text=text)
    ctx.ledger.interrupt_unfinished(
        repo=item.repo, slug=task.slug, keep_task=None, keep_attempt=None
    )
    item.status, item.state = Status.RUNNING, None
    ctx.store.save(item)
    for number in [item.issue] + ([item.pr_number] if item.pr_number else []):
        for label in sorted(STATUS_LABELS):
            ctx.executor.apply(RemoveLabel(item.repo, number, label))
    publish_status(ctx, item, task_type, why, None)
    drive(ctx, repo_ref, restarted, item, lambda engine, ws, ex: engine.run(task, ws, ex))


def resume(ctx: Context, repo_ref: RepoRef, config: RepoConfig, item: IssueTask) -> None:
    """Go on with a task whose worker stopped mid-step, from its saved state and its branch:
    the same ledger task continues; attempts left open are finished as interrupted."""
    assert item.state is not None
    if is_feature_state(item.state):
        ctx.executor.begin(
            f"resume the plan of {item.repo}#{item.issue} where its worker stopped",
            lambda: run_feature_issue(ctx, repo_ref, config, item),
        )
        return
    state = TaskRun.from_json(item.state)

    def work() -> None:
        ctx.ledger.interrupt_unfinished(
            repo=item.repo,
            slug=state.task.slug,
            keep_task=state.task_id,
            keep_attempt=state.pending.attempt_id if state.pending else None,
        )
        ctx.echo(f"resuming the task of {item.repo}#{item.issue} where its worker stopped")
        drive(ctx, repo_ref, config, item, lambda engine, ws, ex: engine.recover(state, ws, ex))

    ctx.executor.begin(
        f"resume the task of {item.repo}#{item.issue} where its worker stopped", work
    )


def drive(ctx: Context, repo_ref: RepoRef, config: RepoConfig, item: IssueTask, step: Step) -> None:
    """Check out the task branch, let the engine take its step, then report what happened."""
    repo = repo_ref.full_name
    workspace = ctx.github.checkout(
        repo,
        ctx.scratch_dir(repo, f"issue-{item.issue}"),
        branch=item.branch,
        base=repo_ref.default_branch,
    )

    def checkpoint(state: TaskRun) -> None:
        item.task_id, item.state = state.task_id, state.to_json()
        ctx.store.save(item)

    engine = make_engine(ctx, config, repo, checkpoint=checkpoint)
    with ctx.executor.on(workspace):
        result = step(engine, workspace, ctx.executor)
    conclude(ctx, repo_ref, item, result, diagnose_with=config)
    publish_audit(ctx, repo, config, item.issue, item.pr_number, result)


def make_engine(
    ctx: Context,
    config: RepoConfig,
    repo: str,
    *,
    checkpoint: Callable[[TaskRun], None] = lambda _state: None,
) -> Engine:
    return Engine(
        config=config,
        models=ctx.models,
        ledger=ctx.ledger,
        forge=ctx.checks,
        prices=ctx.prices,
        repo=repo,
        progress=ctx.echo,
        checkpoint=checkpoint,
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
            body = (
                f"Closes #{item.issue}\n\nWritten by tierbot; progress and costs are in "
                f"the status comment on #{item.issue}."
            )
            opened = ctx.executor.apply(
                OpenPull(repo, item.branch, repo_ref.default_branch, title, body)
            )
            found = opened.pull
        item.pr_number = found.number if found is not None else None
    item.task_id = result.task_id
    if result.status is Status.RUNNING:
        item.state = result.state.to_json() if result.state else None
    ctx.store.save(item)
    task_type = result.state.task.type if result.state else ""
    publish_status(ctx, item, task_type, headline(result, item), result)
    label_outcome(ctx, item, result.status)
    if result.status is not Status.RUNNING:
        # Stored last: a worker stopped before this point finds the task running, resumes it
        # from its last step and publishes the same ending again.
        item.status, item.state = result.status, None
        ctx.store.save(item)
    if result.stopped_on_red_check and diagnose_with is not None:
        diagnose_red_ceiling(ctx, repo_ref, item, diagnose_with)
