"""When a job of a running task fails for good: the task needs a human, and its comment says why."""

from __future__ import annotations

from bot.core.logs import scrub
from bot.core.types import Status
from bot.engine import AttemptSummary, RunResult, TaskRun, record_end
from bot.orchestrator.state import FeatureRun, is_feature_state
from bot.ports.tasks import IssueTask
from bot.service.context import Context
from bot.service.issue_state import task_slug
from bot.service.status import label_outcome, publish_status


def hand_over(ctx: Context, item: IssueTask, why: str) -> None:
    """End the task as needs-human with ``why`` in its status comment and the ledger."""
    reason = f"tierbot could not finish this task: {scrub(why)[:500]}"
    stored = item.state or {}
    feature = FeatureRun.from_json(stored) if is_feature_state(stored) else None
    state = TaskRun.from_json(item.state) if item.state and feature is None else None
    known = feature or state
    ctx.ledger.interrupt_unfinished(
        repo=item.repo,
        slug=task_slug(item.issue),
        keep_task=known.task_id if known else None,
        keep_attempt=None,
    )
    result = ended(state, reason, item.branch) if state else None
    if result is not None:
        record_end(ctx.ledger, result)
    item.status = Status.NEEDS_HUMAN
    task_type = known.task.type if known else ""
    publish_status(ctx, item, task_type, f"A human is needed: {reason}.", result)
    label_outcome(ctx, item, Status.NEEDS_HUMAN)
    item.state = None
    ctx.store.save(item)


def ended(state: TaskRun, reason: str, branch: str) -> RunResult:
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
