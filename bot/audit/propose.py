"""``tierbot calibrate --github OWNER/REPO``: the calibration of a repository on GitHub, and
with ``--apply`` its recommended start tiers proposed as one pull request from
``tierbot/calibrate`` that changes ``.github/tierbot.yml`` alone. A re-run updates that pull
request; an unchanged recommendation opens none."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot import REPO_CONFIG_PATH
from bot.access import ModelAccess
from bot.action.forge import ActionForge
from bot.actions import Commit, EditBody, OpenPull, Push
from bot.core.calibration import Recommendation, TaskOutcome
from bot.core.types import EditSet, FileEdit
from bot.executor import Executor

BRANCH = "tierbot/calibrate"
TITLE = "tierbot: calibrate where each task type starts"
EXIT_USAGE = 2
EXIT_GITHUB = 1


class Refused(Exception):
    """A bad input or a refused request, said as one line; ``code`` is the exit code."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


class BadConfig(Refused):
    """The repository's config (or its edit) is one tierbot refuses."""


@dataclass(frozen=True)
class Ledger:
    """Where the outcomes come from: a ledger database (``url``, ``repo`` as it records the
    repository), or None for the status comments on GitHub."""

    url: str
    repo: str


def calibrate_github(
    repo: str,
    *,
    apply: bool,
    as_json: bool,
    ledger: Ledger | None,
    env: Mapping[str, str],
    access: ModelAccess,
    pacing: bool,
    echo: Callable[[str], None],
    say: Callable[[str], None],
) -> int:
    """Calibrate ``repo``'s config on GitHub; with ``apply``, propose the change. Exit code."""
    from bot.action.report import TokenMissing, token_forge

    needs = "can push branches and open pull requests" if apply else "can read the repository"
    try:
        forge = token_forge(repo, env, needs=needs, pacing=pacing)
    except TokenMissing as exc:
        say(f"error: {exc}")
        return EXIT_USAGE
    try:
        with forge:
            return _run(forge, repo, apply, as_json, ledger, access, echo, say)
    except Refused as exc:
        say(f"error: {exc}")
        return exc.code


def _run(
    forge: ActionForge,
    repo: str,
    apply: bool,
    as_json: bool,
    ledger: Ledger | None,
    access: ModelAccess,
    echo: Callable[[str], None],
    say: Callable[[str], None],
) -> int:
    from bot.audit.calibrate import calibrate, describe, to_json

    base = _github(lambda: forge.default_branch(repo), repo)
    before = _github(lambda: forge.file_text(repo, REPO_CONFIG_PATH), repo)
    config = _config(forge, repo, before, access)
    outcomes, source = _github(lambda: _outcomes(forge, repo, ledger), repo)
    recs = calibrate(config, outcomes)
    if as_json:
        echo(json.dumps(to_json(recs), indent=2))
    else:
        if not outcomes:
            say(f"no ended task in {source} yet: nothing to calibrate on")
        for line in describe(recs):
            echo(line)
    if not apply:
        return 0
    say(_github(lambda: propose(forge, repo, base, before, recs, access, source), repo))
    return 0


def _outcomes(
    forge: ActionForge, repo: str, ledger: Ledger | None
) -> tuple[tuple[TaskOutcome, ...], str]:
    """The ended tasks, and where they were read, in words."""
    from bot.adapters.ledger import SqlLedger
    from bot.adapters.ledger_audit import ledger_exists, task_outcomes

    if ledger is None:
        from bot.action.report import comment_ledger

        with comment_ledger(forge, repo) as comments:
            return task_outcomes(comments, repo=repo), f"the status comments of {repo}"
    if not ledger_exists(ledger.url):
        return (), f"the ledger of {ledger.repo}"
    with SqlLedger(ledger.url) as db:
        return task_outcomes(db, repo=ledger.repo), f"the ledger of {ledger.repo}"


def _config(forge: ActionForge, repo: str, text: str | None, access: ModelAccess) -> Any:
    """``repo``'s config on its default branch, with ``text`` as its own file."""
    from bot.config import ConfigError
    from bot.config_extends import load_extended

    def fetch(name: str, path: str, ref: str) -> str | None:
        if name == repo and path == REPO_CONFIG_PATH:
            return text
        return forge.file_text(name, path, ref or None)

    try:
        return _github(
            lambda: load_extended(fetch, repo, "", REPO_CONFIG_PATH, access=access), repo
        )
    except ConfigError as exc:
        raise BadConfig(str(exc)) from None


def propose(
    forge: ActionForge,
    repo: str,
    base: str,
    before: str | None,
    recs: Sequence[Recommendation],
    access: ModelAccess,
    source: str,
) -> str:
    """Commit the changed start tiers on ``tierbot/calibrate`` and open or update its pull
    request; what was done, in one line."""
    from bot.audit.calibrate import apply_to_yaml, pr_body

    try:
        after, changed = apply_to_yaml(before, recs)
    except ValueError as exc:
        raise Refused(f"{REPO_CONFIG_PATH} on {base}: {exc}") from None
    if not changed:
        return _nothing(forge, repo, base, recs)
    _validate(forge, repo, after, access)
    executor = Executor(github=forge, dry_run=False, redactor=forge.credentials.redact)
    with tempfile.TemporaryDirectory(prefix="tierbot-calibrate-") as tmp:
        workspace = forge.checkout(repo, Path(tmp) / "clone", branch=BRANCH, base=base)
        committed = workspace.read(REPO_CONFIG_PATH) != after
        if committed:
            message = "tierbot: calibrate the start tiers\n\n" + "\n".join(changed)
            with executor.on(workspace):
                executor.apply(Commit(EditSet((FileEdit(REPO_CONFIG_PATH, after),)), message))
                executor.apply(Push(BRANCH))
    body = pr_body(recs, changed, source=source)
    found = forge.find_pull(repo, BRANCH)
    if found is None:
        pull = executor.apply(OpenPull(repo, BRANCH, base, TITLE, body)).pull
        assert pull is not None
        return f"opened pull request #{pull.number} ({pull.url}): " + "; ".join(changed)
    if found.body != body:
        executor.apply(EditBody(repo, found.number, body))
    elif not committed:
        return f"pull request #{found.number} ({found.url}) already proposes this; left as it is"
    return f"updated pull request #{found.number} ({found.url}): " + "; ".join(changed)


def _nothing(forge: ActionForge, repo: str, base: str, recs: Sequence[Recommendation]) -> str:
    from bot.audit.calibrate import waiting

    more = waiting(recs)
    kept = [f"{r.task_type} at {r.tier}" for r in recs if r.tier is not None]
    if kept:
        why = f"{REPO_CONFIG_PATH} on {base} already starts " + ", ".join(kept)
    else:
        why = "no task type has a recommendation yet"
    line = f"nothing to change: {why}" + (f"; {more}" if more else "") + "; no pull request"
    open_pull = forge.find_pull(repo, BRANCH)
    if open_pull is not None:
        line += f" (the open pull request #{open_pull.number} is left as it is)"
    return line


def _validate(forge: ActionForge, repo: str, after: str, access: ModelAccess) -> None:
    """Never propose a file tierbot itself would refuse."""
    try:
        _config(forge, repo, after, access)
    except BadConfig as exc:
        raise Refused(f"the edited config would be invalid, not proposed: {exc}") from None


def _github(call: Callable[[], Any], repo: str) -> Any:
    """``call``, with GitHub's and git's refusals said as one line naming the repository."""
    from bot.adapters.git import GitError, PushFailed
    from bot.adapters.github import GitHubError, GitTransportError, InvalidName

    try:
        return call()
    except InvalidName as exc:
        raise Refused(str(exc)) from None
    except GitHubError as exc:
        if exc.status == 404 and exc.operation.startswith("default_branch "):
            raise Refused(
                f"no repository {repo} on GitHub, or the token cannot see it", EXIT_GITHUB
            ) from None
        if exc.status == 401:
            raise Refused(f"GitHub refused the token: {exc}", EXIT_GITHUB) from None
        raise Refused(str(exc), EXIT_GITHUB) from None
    except (GitTransportError, GitError, PushFailed) as exc:
        raise Refused(f"git: {exc}", EXIT_GITHUB) from None
