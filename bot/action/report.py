"""``tierbot report --github OWNER/REPO``: the spend report rebuilt from tierbot's status
comments, for Action users who have no ledger database; ``comment_ledger`` gives the same
rows to ``tierbot calibrate --github``."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from bot.action import snapshot
from bot.action.forge import ActionForge, TokenCredentials
from bot.action.runner import EXIT_USAGE
from bot.action.store import read_block
from bot.adapters.github import DEFAULT_API_URL, CommentInfo
from bot.adapters.ledger import SqlLedger
from bot.core.logs import Redactor


class TokenMissing(Exception):
    """No usable token or repository name: a usage error, said before any request."""


def token_forge(
    repo: str, env: Mapping[str, str], *, needs: str, pacing: bool = True
) -> ActionForge:
    """The forge of ``repo`` acting with TIERBOT_GITHUB_TOKEN (or GITHUB_TOKEN); ``needs``
    says what the token must be allowed to do, for the error when there is none."""
    token = (env.get("TIERBOT_GITHUB_TOKEN") or env.get("GITHUB_TOKEN") or "").strip()
    if not token:
        raise TokenMissing(
            f"TIERBOT_GITHUB_TOKEN (or GITHUB_TOKEN) is not set: a token that {needs}"
        )
    if repo.count("/") != 1:
        raise TokenMissing(f"--github takes OWNER/REPO, not {repo!r}")
    api_url = (
        env.get("GITHUB_API_URL") or env.get("TIERBOT_GITHUB_API_URL") or DEFAULT_API_URL
    ).strip()
    login = (env.get("TIERBOT_BOT_LOGIN") or "").strip() or None
    spacing: dict[str, Any] = {} if pacing else {"pace_requests_s": None, "pace_writes_s": None}
    credentials = TokenCredentials(token, api_url=api_url, redactor=Redactor(), login=login)
    return ActionForge(credentials, **spacing)


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


@contextmanager
def comment_ledger(forge: ActionForge, repo: str) -> Iterator[SqlLedger]:
    """A temporary ledger holding the rows of ``repo``'s status comments."""
    from sqlalchemy import create_engine

    login = forge.credentials.login

    def own(comment: CommentInfo) -> bool:
        # The account the action ran as: the one named, else any bot account.
        return comment.author == login if login else comment.author_type == "Bot"

    with tempfile.TemporaryDirectory(prefix="tierbot-report-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'ledger.sqlite3'}"
        engine = create_engine(url)
        snapshot.create_tables(engine)
        load_comments(forge, repo, engine, own=own)
        engine.dispose()
        ledger = SqlLedger(url)
        try:
            yield ledger
        finally:
            ledger.close()


def report_github(
    repo: str,
    *,
    as_json: bool,
    env: Mapping[str, str],
    echo: Callable[[str], None],
    error: Callable[[str], None],
) -> int:
    from bot.config import ConfigError
    from bot.config_extends import load_extended
    from bot.report import build_report, render_table, report_to_json

    try:
        forge = token_forge(repo, env, needs="can read the repository's issues")
    except TokenMissing as exc:
        error(f"tierbot: error: {exc}")
        return EXIT_USAGE
    try:
        config = load_extended(forge.file_text, repo, "", ".github/tierbot.yml")
    except ConfigError as exc:
        error(f"tierbot: error: {exc}")
        return EXIT_USAGE
    with comment_ledger(forge, repo) as ledger:
        data = build_report(ledger, repo=repo, ladder=config.ladder)
    if as_json:
        echo(json.dumps(report_to_json(data), indent=2))
        return 0
    from rich.console import Console

    render_table(data, Console())
    return 0
