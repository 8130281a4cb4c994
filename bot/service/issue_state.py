"""An issue's task as stored between jobs: its branch, its slug, whether CI drives it next."""

from __future__ import annotations

from dataclasses import replace

from bot.config import RepoConfig
from bot.core.routing import type_for_label
from bot.core.types import Status, Task
from bot.engine import TaskRun, make_task
from bot.orchestrator.github import is_feature_state, waits_for
from bot.ports.tasks import IssueTask


def task_branch(issue: int) -> str:
    return f"tierbot/issue-{issue}"


def task_slug(issue: int) -> str:
    return f"issue-{issue}"


def issue_task(repo: str, issue: int, task_type: str, *, title: str, text: str) -> Task:
    """The task of an issue. Every run for the issue (the first, `/tierbot retry`, `/tierbot
    escalate`, a relabel) shares one budget key, so `budget.per_task_usd` caps their total."""
    task = make_task(f"{title}\n\n{text}", task_type, title=title)
    return replace(task, slug=task_slug(issue), budget_key=f"{repo}#{issue}")


def item_type(config: RepoConfig, item: IssueTask) -> str | None:
    """The task type of an issue's task: its label's, or what ``tierbot:auto`` chose."""
    by_label = type_for_label(config, item.label)
    if by_label is None and item.triage and item.label == config.plan.auto_label:
        chosen = item.triage.get("type")
        return chosen if isinstance(chosen, str) and chosen in config.task_types else None
    return by_label


def waiting_for_ci(item: IssueTask) -> bool:
    """The task's commit is pushed and CI decides its next step."""
    if item.status != Status.RUNNING or not item.state:
        return False
    if is_feature_state(item.state):
        return waits_for(item.state) is not None
    pending = TaskRun.from_json(item.state).pending
    return pending is not None and pending.result.commit_sha is not None


def driven_by(head_sha: str | None, item: IssueTask) -> bool:
    """Whether a job for an event at ``head_sha`` moves the task on: any job while it is
    starting or mid-step; while it waits for CI, only the CI of its pending commit."""
    if not waiting_for_ci(item):
        return True
    assert item.state is not None
    if is_feature_state(item.state):
        return head_sha == waits_for(item.state)
    pending = TaskRun.from_json(item.state).pending
    return pending is not None and head_sha == pending.result.commit_sha


def interrupted(item: IssueTask) -> bool:
    """Running with a saved state but not waiting for CI: its worker stopped mid-step."""
    return item.status == Status.RUNNING and bool(item.state) and not waiting_for_ci(item)
