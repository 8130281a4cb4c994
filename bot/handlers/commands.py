"""Comment commands: ``/tierbot review|debug|retry|escalate|stop`` from users with write access.

A command is a line of a new comment that starts with ``/tierbot`` (not quoted, not inside a
code block). Commands take no arguments: tiers, budgets and paths come only from
``.github/tierbot.yml`` on the default branch, so a comment can never widen them; arguments
given anyway are ignored, and the reply says so. Unknown commands get a short help reply.
Comments from users without write access, and from bots, are ignored and recorded.
"""

from __future__ import annotations

import re

from bot.core.context import strip_html_comments
from bot.dispatch import Router
from bot.events import Event
from bot.service.commands import COMMANDS, Command, reply, shown
from bot.service.context import Context
from bot.service.gate import may_act

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
    if command is None or event.repo is None or event.number is None or not may_act(event, ctx):
        return
    repo, number = event.repo.full_name, event.number
    handler = COMMANDS.get(command.name)
    if handler is None:
        unknown = f"`/tierbot {command.name}` is not a command. " if command.name else ""
        reply(ctx, repo, number, unknown + HELP)
        return

    def work() -> None:
        if command.args:
            reply(
                ctx,
                repo,
                number,
                f"Ignored `{shown(command.args)}`: commands take no arguments. Tiers, budgets "
                "and paths come only from `.github/tierbot.yml` on the default branch.",
            )
        handler(event, ctx, command)

    ctx.executor.begin(f"run /tierbot {command.name} for {repo}#{number}", work)
