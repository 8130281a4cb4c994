"""What the commands share: exit codes, the usage error, options, settings and log redaction."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

EXIT_DONE = 0
EXIT_NEEDS_HUMAN = 1
EXIT_USAGE = 2  # bad input: invalid config, not a repository, unreadable task file
EXIT_BUDGET_STOP = 3
EXIT_NOTHING_TO_DO = 4  # the task is empty, names nothing that exists, or is already done
REPO_HELP = "Any directory inside the repository."
F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str) -> None:
    click.echo(f"tierbot: error: {message}", err=True)
    raise SystemExit(EXIT_USAGE)


def protect_logs(redactor: Any) -> None:
    """Every log handler configured so far (and Python's last-resort one) redacts its records."""
    import logging

    from bot.core.logs import RedactingFilter

    found = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    handlers = {h for lg in found if isinstance(lg, logging.Logger) for h in lg.handlers}
    for handler in handlers | ({logging.lastResort} if logging.lastResort else set()):
        for old in [f for f in handler.filters if isinstance(f, RedactingFilter)]:
            handler.removeFilter(old)  # a second command in one process (tests) replaces it
        handler.addFilter(RedactingFilter(redactor))


def repo_option(help_text: str | None = REPO_HELP) -> Callable[[F], F]:
    """``--repo``: the local repository a command works on."""
    return click.option(
        "--repo",
        "repo_path",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("."),
        show_default=True,
        help=help_text,
    )


env_file_option = click.option(
    "--env-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Read TIERBOT_* settings from this file (tierbot init writes .tierbot/app.env); "
    "variables already in the environment win.",
)


def settings_from_env(env_file: Path | None = None) -> Any:
    """Settings from the environment (over ``env_file``); an unreadable file or a malformed
    allowlist setting is a usage error."""
    from bot.access import AccessError
    from bot.settings import EnvFileError, Settings, environ_with_file

    try:
        environ, shadowed = environ_with_file(os.environ, env_file)
        settings = Settings.from_env(environ)
    except (EnvFileError, AccessError) as exc:
        fail(str(exc))
    for name in shadowed:
        click.echo(f"tierbot: {name} from the environment overrides {env_file}", err=True)
    return settings
