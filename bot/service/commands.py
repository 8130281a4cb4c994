"""The comment commands' work: review, debug, and the issue's task stopped, retried or escalated.

``handlers/commands.py`` parses the comment and checks who wrote it; these run after it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.actions import Comment
from bot.config import ConfigError, RepoConfig
from bot.core.types import Status
from bot.engine import TaskRun
from bot.events import TASK_BRANCH, Event
from bot.ports.tasks import IssueTask
from bot.service.context import Context
from bot.service.diagnosis import diagnose_pull
from bot.service.issue_state import item_type
from bot.service.review import review_pull
from bot.service.status import report_config_error
from bot.service.tasks import cancel, restart


@dataclass(frozen=True)
class Command:
    name: str  # lower case; "" for a bare "/tierbot"
    args: str


def reply(ctx: Context, repo: str, number: int, text: str) -> None:
    ctx.executor.apply(Comment(repo, number, text))


def shown(args: str) -> str:
    return args.replace("`", "'")[:80]


def _config(event: Event, ctx: Context) -> RepoConfig | None:
    config = ctx.repo_config(event)
    if isinstance(config, ConfigError):
        assert event.repo is not None and event.number is not None
        report_config_error(ctx, event.repo.full_name, event.number, config)
        return None
    return config


# -- review and debug: pull requests only ----------------------------------------------------


def review(event: Event, ctx: Context, command: Command) -> None:
    assert event.repo is not None and event.number is not None
    if not event.is_pull_request:
        reply(ctx, event.repo.full_name, event.number, "`/tierbot review` works on pull requests.")
        return
    config = _config(event, ctx)
    if config is not None:
        review_pull(ctx, event.repo, event.number, config)


def debug(event: Event, ctx: Context, command: Command) -> None:
    assert event.repo is not None and event.number is not None
    if not event.is_pull_request:
        reply(ctx, event.repo.full_name, event.number, "`/tierbot debug` works on pull requests.")
        return
    config = _config(event, ctx)
    if config is not None:
        diagnose_pull(ctx, event.repo, event.number, config)


# -- the issue's task: stop, retry, escalate -------------------------------------------------


def task_issue(event: Event, ctx: Context) -> int | None:
    """The issue whose task a comment means: the issue itself, or the one a tierbot PR closes."""
    assert event.repo is not None and event.number is not None
    if not event.is_pull_request:
        return event.number
    pull = ctx.github.pull(event.repo.full_name, event.number)
    match = TASK_BRANCH.match(pull.head_ref)
    return int(match.group(1)) if match else None


def _task(event: Event, ctx: Context, name: str) -> tuple[int, IssueTask] | None:
    assert event.repo is not None and event.number is not None
    repo = event.repo.full_name
    issue = task_issue(event, ctx)
    item = ctx.store.get(repo, issue) if issue is not None else None
    if issue is None or item is None:
        where = "this issue" if not event.is_pull_request else "this pull request"
        reply(ctx, repo, event.number, f"`/tierbot {name}`: tierbot has no task for {where}.")
        return None
    return issue, item


def stop(event: Event, ctx: Context, command: Command) -> None:
    found = _task(event, ctx, "stop")
    if found is None:
        return
    issue, item = found
    sender = event.sender.login if event.sender else "someone"
    if item.status != Status.RUNNING:
        assert event.repo is not None and event.number is not None
        reply(ctx, item.repo, event.number, f"The task of #{issue} is not running ({item.status}).")
        return
    cancel(ctx, item, f"stopped by @{sender} with /tierbot stop")


def retry(event: Event, ctx: Context, command: Command) -> None:
    _restart(event, ctx, "retry", lambda last, ladder, ceiling: last)


def escalate(event: Event, ctx: Context, command: Command) -> None:
    def one_up(last: str, ladder: tuple[str, ...], ceiling: str) -> str | None:
        if ladder.index(last) >= ladder.index(ceiling):
            return None
        return ladder[ladder.index(last) + 1]

    _restart(event, ctx, "escalate", one_up)


def _restart(
    event: Event,
    ctx: Context,
    name: str,
    pick: Callable[[str, tuple[str, ...], str], str | None],
) -> None:
    assert event.repo is not None and event.number is not None
    found = _task(event, ctx, name)
    if found is None:
        return
    issue, item = found
    config = _config(event, ctx)
    if config is None:
        return
    task_type = item_type(config, item)
    if task_type is None:
        reply(ctx, item.repo, event.number, f"`{item.label}` is no longer a tierbot task label.")
        return
    spec = config.task_type(task_type)
    last = last_tier(ctx, item) or spec.start
    start = pick(last, config.ladder, spec.ceiling)
    if start is None:
        reply(
            ctx,
            item.repo,
            event.number,
            f"The task of #{issue} already ran at {last}, the ceiling of {task_type} tasks "
            f"(`task_types.{task_type}.ceiling`); `/tierbot retry` runs it there again.",
        )
        return
    sender = event.sender.login if event.sender else "someone"
    if item.status == Status.RUNNING:
        cancel(ctx, item, f"restarted by @{sender} with /tierbot {name}")
    issue_info = ctx.github.issue(item.repo, issue)
    restart(
        ctx,
        event.repo,
        config,
        item,
        start=start,
        text=issue_info.body,
        title=issue_info.title,
        why=f"Restarted by @{sender} with `/tierbot {name}`: from the {start} tier.",
    )


def last_tier(ctx: Context, item: IssueTask) -> str | None:
    """The tier of the task's last attempt: from its saved state, else from the ledger."""
    if item.state:
        state = TaskRun.from_json(item.state)
        if state.pending is not None:
            return state.pending.tier
        if state.summaries:
            return state.summaries[-1].tier
    attempts: Any = getattr(ctx.ledger, "attempts", None)  # SqlLedger's read side
    if item.task_id is not None and attempts is not None:
        rows = attempts(item.task_id)
        if rows:
            return str(rows[-1].tier)
    return None


COMMANDS: dict[str, Callable[[Event, Context, Command], None]] = {
    "review": review,
    "debug": debug,
    "retry": retry,
    "escalate": escalate,
    "stop": stop,
}
