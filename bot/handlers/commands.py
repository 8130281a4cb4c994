"""Comment commands: ``/tierbot review|debug|retry|escalate|stop`` from users with write access.

A command is a line of a new comment that starts with ``/tierbot`` (not quoted, not inside a
code block). Commands take no arguments: tiers, budgets and paths come only from
``.github/tierbot.yml`` on the default branch, so a comment can never widen them; arguments
given anyway are ignored, and the reply says so. Unknown commands get a short help reply.
Comments from users without write access, and from bots, are ignored and recorded.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.actions import Comment
from bot.adapters.github_tasks import IssueTask
from bot.config import ConfigError, RepoConfig
from bot.core.context import strip_html_comments
from bot.core.routing import type_for_label
from bot.core.types import Status
from bot.engine import TaskRun
from bot.events import TASK_BRANCH, Event
from bot.handlers.context import Context
from bot.handlers.debug import diagnose_pull
from bot.handlers.pulls import may_act, pull_forge
from bot.handlers.review import review_pull
from bot.handlers.tasks import cancel_item, report_config_error, restart_task
from bot.router import Router

router = Router()
COMMAND = re.compile(r"^/tierbot(?=\s|$)[ \t]*(?P<name>\S*)[ \t]*(?P<args>.*)$", re.IGNORECASE)
FENCE = re.compile(r"^(```|~~~)")
HELP = """\
tierbot understands these commands, from users with write access:

- `/tierbot review`: review this pull request (inline comments, summary edited in place)
- `/tierbot debug`: diagnose this pull request's red CI
- `/tierbot retry`: run this issue's task again from the tier it last used
- `/tierbot escalate`: run this issue's task again one tier up, up to its ceiling
- `/tierbot stop`: cancel this issue's running task

On a tierbot pull request, `retry`, `escalate` and `stop` act on the issue it closes. Tiers,
budgets and paths come only from `.github/tierbot.yml` on the default branch."""


@dataclass(frozen=True)
class Command:
    name: str  # lower case; "" for a bare "/tierbot"
    args: str


def parse_command(body: str) -> Command | None:
    """The first command line of a comment, or None: quoted lines and code blocks don't count."""
    in_fence = False
    for raw in strip_html_comments(body).splitlines():
        line = raw.strip()
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence or line.startswith(">"):
            continue
        match = COMMAND.match(line)
        if match:
            return Command(match["name"].lower(), match["args"].strip())
    return None


@router.on("issue_comment.created")
def run_command(event: Event, ctx: Context) -> None:
    command = parse_command(event.body)
    if command is None or event.repo is None or event.number is None:
        return
    if not may_act(event, ctx):
        return
    repo, number = event.repo.full_name, event.number
    handler = COMMANDS.get(command.name)
    if handler is None:
        unknown = f"`/tierbot {command.name}` is not a command. " if command.name else ""
        reply(ctx, repo, number, unknown + HELP)
        return
    if ctx.dry_run and command.name in ("retry", "escalate", "stop"):
        # These read the issue and the ledger before acting; a dry run states the intent.
        ctx.echo(f"would run /tierbot {command.name} for {repo}#{number}")
        return
    if command.args:
        reply(
            ctx,
            repo,
            number,
            f"Ignored `{_shown(command.args)}`: commands take no arguments. Tiers, budgets and "
            "paths come only from `.github/tierbot.yml` on the default branch.",
        )
    handler(event, ctx, command)


def reply(ctx: Context, repo: str, number: int, text: str) -> None:
    ctx.act(Comment(repo, number, text))


def _shown(args: str) -> str:
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
    pull = pull_forge(ctx).pull(event.repo.full_name, event.number)
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
    cancel_item(ctx, item, f"stopped by @{sender} with /tierbot stop")


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
    task_type = type_for_label(config, item.label)
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
        cancel_item(ctx, item, f"restarted by @{sender} with /tierbot {name}")
    issue_info = pull_forge(ctx).issue(item.repo, issue)
    restart_task(
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
