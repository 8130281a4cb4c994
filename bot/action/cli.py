"""The ``tierbot action`` command: what ``action.yml`` runs on the Actions runner."""

from __future__ import annotations

import os

import click


@click.command("action")
def action() -> None:
    """Handle the GitHub Actions event of this job (GITHUB_EVENT_NAME, GITHUB_EVENT_PATH)."""
    import logging

    from bot.action.run import run_action

    logging.basicConfig(level=logging.INFO, format="tierbot: %(message)s")
    code = run_action(os.environ, echo=lambda line: click.echo(f"tierbot: {line}", err=True))
    raise SystemExit(code)
