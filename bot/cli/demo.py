"""``tierbot demo``: a sample repository and a free template-tier task run in it."""

from __future__ import annotations

from pathlib import Path

import click

from bot.cli.common import (
    fail,
)
from bot.cli.report import report
from bot.cli.run import run


@click.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to create the sample repository (default: a new temporary directory).",
)
@click.pass_context
def demo(ctx: click.Context, directory: Path | None) -> None:
    """Create a sample repository and run a tests task in it on the free template tier."""
    import tempfile

    from bot.demo import TASK, create_sample_repo

    root = directory or Path(tempfile.mkdtemp(prefix="tierbot-demo-"))
    if root.exists() and any(root.iterdir()):
        fail(f"--dir {root} is not empty")
    create_sample_repo(root)
    click.echo(f"sample repository: {root}", err=True)
    click.echo(f'$ tierbot run "{TASK}" --type tests', err=True)
    try:
        ctx.invoke(run, text=TASK, task_type="tests", repo_path=root)
    except SystemExit as exc:
        if exc.code:
            raise
    import subprocess

    branch = "tierbot/add-skeleton-tests-for-shop-cart-py"
    click.echo(f"$ git -C {root} show --stat {branch}", err=True)
    shown = subprocess.run(
        ["git", "-C", str(root), "show", "--stat", branch],
        capture_output=True,
        text=True,
        check=False,
    )
    click.echo(shown.stdout, err=True)
    click.echo("$ tierbot report", err=True)
    ctx.invoke(report, repo_path=root)
