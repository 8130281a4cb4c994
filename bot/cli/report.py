"""``tierbot report``: where the money went, from the ledger."""

from __future__ import annotations

import json
from pathlib import Path

import click

from bot.cli.common import (
    fail,
    repo_option,
    settings_from_env,
)


@click.command()
@repo_option(help_text=None)
@click.option("--all-repos", is_flag=True, help="Every repository in the ledger database.")
@click.option("--json", "as_json", is_flag=True)
def report(repo_path: Path, all_repos: bool, as_json: bool) -> None:
    """Where the money went: spend by task type and tier, green rates, escalations."""
    from bot.adapters.git import GitError, LocalRepo
    from bot.adapters.ledger import SqlLedger
    from bot.config import ConfigError, load_repo_config
    from bot.report import build_report, render_table, report_to_json

    settings = settings_from_env()
    try:
        repo = LocalRepo.open(repo_path)
        config = load_repo_config(repo.root, access=settings.model_access)
    except (GitError, ConfigError) as exc:
        fail(str(exc))
        return
    ledger = SqlLedger(settings.ledger_url(repo.git_dir))
    data = build_report(ledger, repo=None if all_repos else str(repo.root), ladder=config.ladder)
    if as_json:
        click.echo(json.dumps(report_to_json(data), indent=2))
        return
    from rich.console import Console

    render_table(data, Console())
