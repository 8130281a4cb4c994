"""The ``tierbot`` command line. Heavy modules load inside commands, so --help is instant.

Each command group lives in its own module and is registered below with one line.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from bot import __version__
from bot.action.cli import action as action_command
from bot.audit.cli import calibrate, report
from bot.cli.common import (
    EXIT_BUDGET_STOP,
    EXIT_DONE,
    EXIT_NEEDS_HUMAN,
    EXIT_NOTHING_TO_DO,
    EXIT_USAGE,
)
from bot.cli.hooks import hooks
from bot.cli.jobs import jobs
from bot.cli.run import run
from bot.cli.server import replay, serve, worker
from bot.db_cli import db
from bot.demo import demo
from bot.init import init

__all__ = [
    "EXIT_BUDGET_STOP",
    "EXIT_DONE",
    "EXIT_NEEDS_HUMAN",
    "EXIT_NOTHING_TO_DO",
    "EXIT_USAGE",
    "cli",
    "main",
]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tierbot")
def cli() -> None:
    """Route coding tasks by complexity: template -> intern -> junior -> senior."""


cli.add_command(run)
cli.add_command(report)
cli.add_command(calibrate)
cli.add_command(demo)
cli.add_command(hooks)
cli.add_command(serve)
cli.add_command(worker)
cli.add_command(replay)
cli.add_command(jobs)
cli.add_command(init)
cli.add_command(db)  # bot/db_cli.py
cli.add_command(action_command)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="tierbot")
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
