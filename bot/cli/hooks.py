"""``tierbot hooks``: install the plain git pre-commit hook."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from bot.cli.common import (
    repo_option,
)


@click.group()
def hooks() -> None:
    """Git hooks: skeleton tests and marked stubs written before a commit (docs/hooks.md)."""


@hooks.command("install")
@repo_option()
@click.option(
    "--force", is_flag=True, help="Replace an existing pre-commit hook (kept as pre-commit.backup)."
)
def hooks_install(repo_path: Path, force: bool) -> None:
    """Install the plain git pre-commit hook (honours core.hooksPath)."""
    from bot.hooks.install import install

    result = install(repo_path, python=sys.executable, force=force)
    click.echo(result.message, err=result.code != 0)
    if result.code:
        raise SystemExit(result.code)
