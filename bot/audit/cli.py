"""The audit's commands, ``tierbot report`` and ``tierbot calibrate``; heavy modules load
inside them so ``tierbot --help`` stays instant."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from bot.audit.tables import Audit

EXIT_USAGE = 2
REPO_HELP = (
    "A directory inside a local repository (its ledger), or a repository name as the ledger "
    "records it (owner/name) in the database TIERBOT_DB_URL names."
)


def _fail(message: str) -> None:
    click.echo(f"tierbot: error: {message}", err=True)
    raise SystemExit(EXIT_USAGE)


def _say(message: str) -> None:
    click.echo(f"tierbot: {message}", err=True)


def parse_when(value: str | None, option: str) -> datetime | None:
    """A date (``2025-03-01``) or an ISO time; a time without a zone is UTC."""
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        _fail(f"{option} {value!r} is not a date (YYYY-MM-DD) or an ISO time")
        raise
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Source:
    """Which ledger to read, which repository in it, and the config that names the ladder."""

    url: str
    repo: str | None
    config: Any
    root: Path | None  # the local repository, when there is one
    access: Any  # the operator's allowlist the config was validated against


def _settings() -> Any:
    from bot.settings import Settings

    try:
        return Settings.from_env(os.environ)
    except Exception as exc:  # a malformed allowlist setting: the same words as everywhere
        _fail(str(exc))
        raise


def _source(repo_value: str, all_repos: bool) -> Source:
    from bot.adapters.git import GitError, LocalRepo
    from bot.config import ConfigError, load_config, load_repo_config

    settings = _settings()
    path = Path(repo_value)
    if path.is_dir():
        try:
            local = LocalRepo.open(path)
            config = load_repo_config(local.root, access=settings.model_access)
        except (GitError, ConfigError) as exc:
            _fail(str(exc))
            raise
        name = None if all_repos else str(local.root)
        return Source(
            settings.ledger_url(local.git_dir), name, config, local.root, settings.model_access
        )
    if not settings.db_url:
        _fail(
            f"--repo {repo_value!r} is not a directory; a repository name needs TIERBOT_DB_URL "
            "(the server's ledger)"
        )
    return Source(
        str(settings.db_url),
        None if all_repos else repo_value,
        load_config(None, access=settings.model_access),
        None,
        settings.model_access,
    )


@click.command()
@click.option("--repo", "repo_path", default=".", show_default=True, help=REPO_HELP)
@click.option("--all-repos", is_flag=True, help="Every repository in the ledger database.")
@click.option("--since", help="Tasks created at or after this date/time (UTC unless given).")
@click.option("--until", help="Tasks created before this date/time (UTC unless given).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--csv",
    "csv_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write the report's tables as CSV files into this directory.",
)
@click.option(
    "--html",
    "html_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write a self-contained HTML page with charts (needs the `report` extra).",
)
@click.option(
    "--github",
    "github_repo",
    metavar="OWNER/REPO",
    help="Read tierbot's status comments on GitHub instead of a ledger (the Action's runs).",
)
def report(
    repo_path: Path | str,
    all_repos: bool,
    since: str | None,
    until: str | None,
    as_json: bool,
    csv_dir: Path | None,
    html_file: Path | None,
    github_repo: str | None,
) -> None:
    """Where the money went: spend by task type × tier × outcome, green rates, escalations."""
    if github_repo:
        from bot.action.report import report_github

        raise SystemExit(
            report_github(
                github_repo,
                as_json=as_json,
                env=os.environ,
                echo=click.echo,
                error=lambda line: click.echo(line, err=True),
            )
        )
    from bot.adapters.ledger import SqlLedger
    from bot.adapters.ledger_audit import audit_rows, ledger_exists
    from bot.audit.model import summarize

    start, end = parse_when(since, "--since"), parse_when(until, "--until")
    if start and end and start >= end:
        _fail(f"--since {since} is not before --until {until}")
    if html_file is not None:
        _check_html_extra()
    source = _source(str(repo_path), all_repos)
    if not ledger_exists(source.url):
        _say(
            "no ledger yet (no task has run in this repository): nothing to report; no file written"
        )
        if as_json:
            click.echo(json.dumps({"empty": True, "ledger": None}))
        return
    with SqlLedger(source.url) as ledger:
        rows = audit_rows(ledger, repo=source.repo, since=start, until=end)
    audit = summarize(rows, ladder=source.config.ladder, repo=source.repo, since=start, until=end)
    if as_json:
        click.echo(json.dumps(audit.to_json(), indent=2))
    if audit.empty:
        _say("nothing yet: no task in this scope; no file written")
        return
    _write_outputs(audit, csv_dir, html_file, terminal=not (as_json or csv_dir or html_file))


def _check_html_extra() -> None:
    # Before any work: a missing extra is a usage error, not a late crash.
    from bot.audit.html import MissingExtra, plotly_module

    try:
        plotly_module()
    except MissingExtra as exc:
        _fail(str(exc))


def _write_outputs(
    audit: Audit, csv_dir: Path | None, html_file: Path | None, *, terminal: bool
) -> None:
    """The CSV files and the HTML page asked for, or the terminal tables when nothing was."""
    if csv_dir is not None:
        from bot.audit.export import write_csv

        written = write_csv(audit, csv_dir)
        _say(f"wrote {len(written)} CSV files to {csv_dir}")
    if html_file is not None:
        from bot.audit.html import render_html

        html_file.parent.mkdir(parents=True, exist_ok=True)
        html_file.write_text(render_html(audit), encoding="utf-8")
        _say(f"wrote {html_file}")
    if terminal:
        from rich.console import Console

        from bot.audit.export import render_table

        render_table(audit, Console())


@click.command()
@click.option(
    "--repo",
    "repo_path",
    help=REPO_HELP + " Default: the current directory, or with --github its status comments.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the calibration as JSON.")
@click.option(
    "--apply",
    is_flag=True,
    help="Write the recommended start tiers into .github/tierbot.yml (comments are kept); "
    "with --github, propose them as a pull request.",
)
@click.option(
    "--github",
    "github_repo",
    metavar="OWNER/REPO",
    help="Calibrate the config of this repository on GitHub, on the outcomes in its status "
    "comments (or in the ledger --repo names).",
)
def calibrate(repo_path: str | None, as_json: bool, apply: bool, github_repo: str | None) -> None:
    """Where each task type should start, from this repository's own outcomes."""
    if github_repo:
        raise SystemExit(_calibrate_github(github_repo, repo_path, as_json=as_json, apply=apply))
    repo_path = repo_path or "."
    from bot.adapters.ledger import SqlLedger
    from bot.adapters.ledger_audit import ledger_exists, task_outcomes
    from bot.audit.calibrate import apply_to_yaml, calibrate, describe, to_json, waiting

    source = _source(repo_path, all_repos=False)
    if apply and source.root is None:
        _fail("--apply edits a local repository's .github/tierbot.yml; give --repo a directory")
    assert source.repo is not None
    outcomes: tuple[Any, ...] = ()
    if ledger_exists(source.url):
        with SqlLedger(source.url) as ledger:
            outcomes = task_outcomes(ledger, repo=source.repo)
    recs = calibrate(source.config, outcomes)
    if as_json:
        click.echo(json.dumps(to_json(recs), indent=2))
    else:
        if not outcomes:
            _say("no ended task in the ledger yet: nothing to calibrate on")
        for line in describe(recs):
            click.echo(line)
    if not apply:
        return
    assert source.root is not None
    from bot.config import REPO_CONFIG_PATH, ConfigError, load_config

    path = source.root / REPO_CONFIG_PATH
    if path.is_symlink():
        _fail(f"{REPO_CONFIG_PATH} is a symbolic link; not written")
    before = path.read_text(encoding="utf-8") if path.exists() else None
    try:
        after, changed = apply_to_yaml(before, recs)
    except ValueError as exc:
        _fail(f"{REPO_CONFIG_PATH}: {exc}")
        return
    if not changed:
        more = f" ({waiting(recs)})" if waiting(recs) else ""
        _say(f"no start tier changes; {REPO_CONFIG_PATH} left as it is{more}")
        return
    try:
        load_config(after, file=REPO_CONFIG_PATH, access=source.access)
    except ConfigError as exc:  # never write a file tierbot itself would refuse
        _fail(f"the edited config would be invalid, not written: {exc}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(after, encoding="utf-8")
    _say(f"wrote {REPO_CONFIG_PATH}: " + "; ".join(changed))


def _calibrate_github(
    github_repo: str, repo_path: str | None, *, as_json: bool, apply: bool
) -> int:
    from bot.audit.propose import Ledger, calibrate_github

    settings = _settings()
    ledger = None
    if repo_path is not None:
        source = _source(repo_path, all_repos=False)
        assert source.repo is not None
        ledger = Ledger(source.url, source.repo)
    return calibrate_github(
        github_repo,
        apply=apply,
        as_json=as_json,
        ledger=ledger,
        env=os.environ,
        access=settings.model_access,
        pacing=settings.github_pacing,
        echo=click.echo,
        say=_say,
    )
