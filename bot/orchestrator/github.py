"""A feature issue on GitHub: the one entry the task handlers call, and the status it keeps.

The plan runs on ``tierbot/issue-<n>``; every subtask commit is pushed as it is made and CI
on the branch's last commit is the check of the whole. The plan's state (``FeatureRun``) is
stored with the issue's task after every step, so the CI event, or a restarted worker, goes
on from it: a subtask whose commit is on the branch never runs to a second one.
"""

from __future__ import annotations

from typing import Any

from bot.actions import AddLabels, OpenPull, UpsertComment
from bot.config import RepoConfig
from bot.core.plan_table import render_plan_table
from bot.core.state import MARKER_PREFIX, STATUS_ICON, encode_marker
from bot.core.types import CheckResult, Status, Task
from bot.orchestrator.diagnose import diagnose_ceiling
from bot.orchestrator.service import Orchestrator
from bot.orchestrator.state import FeatureResult, FeatureRun, is_feature_state
from bot.orchestrator.triage import Decision

__all__ = ["is_feature_state", "make_orchestrator", "run_feature_issue", "waits_for"]


def waits_for(state: dict[str, Any] | None) -> str | None:
    """The commit whose CI a stored plan run waits for, or None while it is mid-step."""
    if not is_feature_state(state):
        return None
    assert state is not None
    return state.get("head") if state.get("waiting") else None


def run_feature_issue(
    ctx: Any,
    repo_ref: Any,
    config: RepoConfig,
    item: Any,
    *,
    task: Task | None = None,
    check: CheckResult | None = None,
) -> None:
    """Start the plan of ``task``, take ``check`` (CI on the branch) as the check of the
    whole, or, with neither, go on where a stopped worker left the stored plan run."""
    from bot.service.tasks import conclude

    repo = repo_ref.full_name
    workspace = ctx.github.checkout(
        repo,
        ctx.scratch_dir(repo, f"issue-{item.issue}"),
        branch=item.branch,
        base=repo_ref.default_branch,
    )

    def checkpoint(feature: FeatureRun) -> None:
        item.task_id = feature.task_id
        item.state = {**feature.to_json(), "head": workspace.head_sha()}
        ctx.store.save(item)

    orchestrator = make_orchestrator(ctx, config, repo)
    if task is not None:
        result = orchestrator.run(task, workspace, checkpoint=checkpoint)
    else:
        feature = FeatureRun.from_json(item.state)
        if check is not None:
            result = orchestrator.after_check(feature, check, workspace)
            result = diagnose_ceiling(ctx, repo_ref, config, item, result, check)
        else:
            result = orchestrator.advance(feature, workspace, checkpoint)
    if result.fallback is not None:  # no usable plan: the single ladder, as without a plan
        say_notes(ctx, item, result)
        conclude(ctx, repo_ref, item, result.fallback, diagnose_with=config)
        return
    publish(ctx, repo_ref, item, result, workspace.head_sha())


def make_orchestrator(ctx: Any, config: RepoConfig, repo: str) -> Orchestrator:
    """The orchestrator of one job on GitHub: the job's ports, its CI checks and executor."""
    return Orchestrator(
        config=config,
        models=ctx.models,
        ledger=ctx.ledger,
        forge=ctx.checks,
        prices=ctx.prices,
        repo=repo,
        executor=ctx.executor,
        progress=ctx.echo,
    )


def say_notes(ctx: Any, item: Any, result: FeatureResult) -> None:
    from bot.actions import Comment

    if result.notes:
        lines = "\n".join(f"- {note}" for note in result.notes)
        text = f"tierbot could not plan this issue:\n{lines}"
        ctx.executor.apply(Comment(item.repo, item.issue, text))


def publish(ctx: Any, repo_ref: Any, item: Any, result: FeatureResult, head: str) -> None:
    """Open the one PR (its body the plan's table), store the state, edit the status comment."""
    repo = repo_ref.full_name
    table = render_plan_table(result.run) if result.run is not None else ""
    if result.branch and item.pr_number is None:
        found = ctx.github.find_pull(repo, item.branch)
        if found is None:
            title = result.feature.task.title if result.feature else f"tierbot: issue {item.issue}"
            body = (
                f"Closes #{item.issue}\n\nPlanned and written by tierbot, one commit per "
                f"subtask; the status comment on #{item.issue} keeps this table up to date.\n\n"
                + table
            )
            opened = ctx.executor.apply(
                OpenPull(repo, item.branch, repo_ref.default_branch, title, body)
            )
            found = opened.pull
        item.pr_number = found.number if found is not None else None
    item.task_id = result.task_id
    if result.status is Status.RUNNING and result.feature is not None:
        # Only a finished step waits for CI; a checkpoint mid-step is resumed, not waited on.
        item.state = {**result.feature.to_json(), "head": head, "waiting": True}
    ctx.store.save(item)
    body = status_body(item, result, table)
    applied = ctx.executor.apply(UpsertComment(item.repo, item.issue, MARKER_PREFIX, body))
    if applied.comment_id is not None:
        item.comment_id = applied.comment_id
    label = {Status.DONE: "tierbot:done", Status.NEEDS_HUMAN: "tierbot:needs-human"}.get(
        result.status
    )
    if label is not None:
        for number in [item.issue] + ([item.pr_number] if item.pr_number else []):
            ctx.executor.apply(AddLabels(repo, number, (label,)))
    if result.status is not Status.RUNNING:
        item.status, item.state = str(result.status), None
    ctx.store.save(item)


def status_body(item: Any, result: FeatureResult, table: str) -> str:
    status = str(result.status)
    icon = STATUS_ICON.get(status, "")
    lines = [f"### {icon} tierbot: feature — {status}".strip(), ""]
    if getattr(item, "triage", None):
        lines += [Decision.from_json(item.triage).line(), ""]
    lines += [result.reason, ""]
    lines += [f"- {note}" for note in result.notes]
    if result.check:
        lines.append(f"Last check: {result.check}")
    lines += ["", table, ""]
    marker = {"issue": item.issue, "task": item.task_id, "status": status, "pr": item.pr_number}
    if result.run is not None:
        marker["plan"] = {s.id: [str(s.state), s.tier, s.commit] for s in result.run.subtasks}
    lines.append(encode_marker(marker))
    return "\n".join(lines)
