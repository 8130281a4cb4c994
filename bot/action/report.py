"""``tierbot report --github OWNER/REPO``: the spend report rebuilt from tierbot's status
comments, for Action users who have no ledger database."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from sqlalchemy import Engine

from bot.action import snapshot
from bot.action.forge import ActionForge, TokenCredentials
from bot.action.runner import EXIT_USAGE
from bot.action.store import read_block
from bot.adapters.github import DEFAULT_API_URL, CommentInfo
from bot.core.logs import Redactor


def load_comments(
    forge: ActionForge, repo: str, engine: Engine, *, own: Callable[[CommentInfo], bool]
) -> int:
    """Load the ledger rows of every status comment ``own`` accepts; how many were read."""
    found = 0
    for _number, comment in forge.repo_comments(repo):
        if not own(comment):
            continue
        block = read_block(comment.body)
        ledger = block.get("ledger") if block else None
        if not isinstance(ledger, dict):
            continue
        try:
            snapshot.load(engine, ledger, renumber=True)
        except (snapshot.SnapshotError, ValueError, TypeError):
            continue  # a damaged block is left out, as the Action run leaves it out
        found += 1
    return found


def report_github(
    repo: str,
    *,
    as_json: bool,
    env: Mapping[str, str],
    echo: Callable[[str], None],
    error: Callable[[str], None],
) -> int:
    from sqlalchemy import create_engine

    from bot.adapters.ledger import SqlLedger
    from bot.config import ConfigError
    from bot.config_extends import load_extended
    from bot.report import build_report, render_table, report_to_json

    token = (env.get("TIERBOT_GITHUB_TOKEN") or env.get("GITHUB_TOKEN") or "").strip()
    if not token:
        error(
            "tierbot: error: TIERBOT_GITHUB_TOKEN (or GITHUB_TOKEN) is not set: a token that "
            "can read the repository's issues"
        )
        return EXIT_USAGE
    if repo.count("/") != 1:
        error(f"tierbot: error: --github takes OWNER/REPO, not {repo!r}")
        return EXIT_USAGE
    api_url = (
        env.get("GITHUB_API_URL") or env.get("TIERBOT_GITHUB_API_URL") or DEFAULT_API_URL
    ).strip()
    login = (env.get("TIERBOT_BOT_LOGIN") or "").strip() or None
    forge = ActionForge(TokenCredentials(token, api_url=api_url, redactor=Redactor(), login=login))

    def own(comment: CommentInfo) -> bool:
        # The account the action ran as: the one named, else any bot account.
        return comment.author == login if login else comment.author_type == "Bot"

    try:
        config = load_extended(forge.file_text, repo, "", ".github/tierbot.yml")
    except ConfigError as exc:
        error(f"tierbot: error: {exc}")
        return EXIT_USAGE
    with tempfile.TemporaryDirectory(prefix="tierbot-report-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'ledger.sqlite3'}"
        engine = create_engine(url)
        snapshot.create_tables(engine)
        load_comments(forge, repo, engine, own=own)
        engine.dispose()
        ledger = SqlLedger(url)
        data = build_report(ledger, repo=repo, ladder=config.ladder)
        ledger.close()
    if as_json:
        echo(json.dumps(report_to_json(data), indent=2))
        return 0
    from rich.console import Console

    render_table(data, Console())
    return 0
