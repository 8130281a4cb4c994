"""Label an issue, get a PR: start a task on a task-type label (``tierbot:auto``: the type
triage picks), cancel it when the label goes."""

from __future__ import annotations

from bot.config import ConfigError
from bot.core.routing import type_for_label
from bot.core.types import Status
from bot.dispatch import Router
from bot.events import Event
from bot.service import auto, tasks
from bot.service.context import Context
from bot.service.gate import may_act
from bot.service.status import report_config_error
from bot.service.tasks import STATUS_LABELS

router = Router()
CANCEL_REASONS = {
    "unlabeled": "the label {label} was removed",
    "closed": "the issue or pull request was closed",
}


@router.on("issues.labeled")
def start_task_on_label(event: Event, ctx: Context) -> None:
    label = event.label or ""
    if event.is_pull_request or not label.startswith("tierbot:") or label in STATUS_LABELS:
        return
    assert event.repo is not None and event.number is not None
    if not may_act(event, ctx):
        return
    config = ctx.repo_config(event)
    if isinstance(config, ConfigError):
        report_config_error(ctx, event.repo.full_name, event.number, config)
        return
    if label == config.plan.auto_label:
        auto.start(ctx, event, config)
        return
    task_type = type_for_label(config, label)
    if task_type is None or config.task_type(task_type).output != "commit":
        return
    tasks.start(
        ctx,
        event.repo,
        config,
        issue=event.number,
        label=label,
        task_type=task_type,
        title=event.title,
        text=event.body,
    )


@router.on("issues.unlabeled", "issues.closed", "pull_request.closed")
def cancel_task(event: Event, ctx: Context) -> None:
    issue = event.task_issue if event.name == "pull_request" else event.number
    item = ctx.store.get(event.repo.full_name, issue) if event.repo and issue else None
    if item is None or item.status != Status.RUNNING:
        return
    if event.action == "unlabeled" and event.label != item.label:
        return
    if event.name == "pull_request" and event.payload.get("pull_request", {}).get("merged"):
        return
    reason = CANCEL_REASONS[event.action or "closed"].format(label=item.label)
    tasks.cancel(ctx, item, reason)
