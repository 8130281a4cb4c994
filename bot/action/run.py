"""``tierbot action``: one workflow event through the same router and handlers as the server.

The runner gives an event file and a token. There is no database: the ledger is a SQLite file
in the runner's temp directory, filled from the issue's status comment and written back to it
(``store.py``). What the run did goes to the job summary and the step outputs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from bot.action import summary
from bot.action.forge import ActionForge, TokenCredentials
from bot.action.runner import EXIT_USAGE, RunnerEnv, RunnerError, TokenKind
from bot.action.store import CommentTaskStore
from bot.events import HANDLED_EVENTS, Event, EventError, parse_event

EXIT_OK = 0
EXIT_FAILED = 1
# Variables an Action step holds that a repository's check command must never see.
_RUNNER_SECRETS = re.compile(
    r"^(?:ACTIONS_|TIERBOT_)|(?:TOKEN|SECRET|PASSWORD|KEY|PAT|CREDENTIALS?)$", re.IGNORECASE
)


def default_token_notice(check: str) -> str:
    return (
        "**Note:** this run holds the workflow's default `GITHUB_TOKEN`. Pull requests and "
        "pushes made with it start no other workflow, so CI will not run on this branch: "
        f"tierbot ran the check (`{check}`) inside the action instead. Give the action an App "
        "token (actions/create-github-app-token) or a personal access token to let your CI "
        "decide."
    )


@dataclass(frozen=True)
class Outcome:
    code: int
    status: str
    headline: str
    pr: int | None = None


def run_action(environ: Mapping[str, str], *, echo: Callable[[str], None]) -> int:
    """Run the event of the workflow; returns the exit code (2: the runner's setup is wrong)."""
    try:
        runner = RunnerEnv.from_env(environ)
        payload = runner.read_event()
    except RunnerError as exc:
        echo(f"error: {exc}")
        return EXIT_USAGE
    started = datetime.now(UTC)
    if runner.event_name not in HANDLED_EVENTS:
        return _finish(runner, Outcome(EXIT_OK, "ignored", _ignored(runner.event_name)), echo)
    try:
        event = parse_event(runner.event_name, f"action-{runner.run_id}", payload)
    except EventError as exc:
        echo(
            f"error: GITHUB_EVENT_PATH {runner.event_path}: not a {runner.event_name} event: {exc}"
        )
        return EXIT_USAGE
    from bot.handlers import build_router

    router = build_router()
    handlers = router.handlers_for(event)
    if not handlers:
        return _finish(runner, Outcome(EXIT_OK, "ignored", _ignored(event.kind)), echo)
    return _dispatch(runner, environ, event, router, handlers, started, echo)


def _ignored(kind: str) -> str:
    return f"tierbot does not act on {kind} events; nothing to do"


def _dispatch(
    runner: RunnerEnv,
    environ: Mapping[str, str],
    event: Event,
    router: Any,
    handlers: list[Any],
    started: datetime,
    echo: Callable[[str], None],
) -> int:
    from bot.access import AccessError
    from bot.settings import Settings

    try:
        settings = Settings.from_env(environ)
    except AccessError as exc:
        echo(f"error: {exc}")
        return EXIT_USAGE
    redactor = settings.redactor()
    fork = _fork_without_keys(event, settings.model_keys())
    if fork is not None:
        return _finish(runner, Outcome(EXIT_OK, "skipped", fork), echo)
    forge = _forge(runner, settings, redactor, echo)
    if forge is None:
        return EXIT_USAGE
    say = _echo_redacted(echo, redactor)
    run = _ActionRun.build(runner, environ, settings, redactor, forge, say)
    if runner.token_kind is TokenKind.DEFAULT:
        config = run.ctx.repo_config(event) if event.repo is not None else None
        command = getattr(getattr(config, "check", None), "command", None) or "pytest -q"
        run.store.notice = default_token_notice(command)
    say(f"{event.kind} on {runner.repository}: {len(handlers)} handler(s)")
    try:
        for handler in handlers:
            handler(event, run.ctx)
    except Exception as exc:
        why = redactor(f"{type(exc).__name__}: {exc}")
        say(f"error: {why}")
        for failure in router.failure_handlers_for(event):
            try:
                failure(event, run.ctx, why)
            except Exception as again:  # the run has failed already; say so and go on
                say(f"error: could not report the failure: {redactor(str(again))}")
        outcome = Outcome(EXIT_FAILED, "failed", f"The run failed: {why}")
        return _finish(runner, outcome, echo, ledger=run.ledger, since=started, store=run.store)
    outcome = _outcome(run.store, event)
    return _finish(runner, outcome, echo, ledger=run.ledger, since=started, store=run.store)


def _forge(
    runner: RunnerEnv, settings: Any, redactor: Any, echo: Callable[[str], None]
) -> ActionForge | None:
    """The forge acting with the runner's token, knowing which account that is (None: said)."""
    login = runner.bot_login
    credentials = TokenCredentials(
        runner.token, api_url=runner.api_url, redactor=redactor, app_id=runner.app_id, login=login
    )
    pacing: dict[str, Any] = (
        {} if settings.github_pacing else {"pace_requests_s": None, "pace_writes_s": None}
    )
    forge = ActionForge(credentials, workspace=runner.workspace, **pacing)
    if login is None:
        try:
            credentials.login = forge.whoami()
        except Exception as exc:
            echo(
                "error: cannot tell which account the token acts as "
                f"({redactor(str(exc))}); set the action's bot-login input "
                "(an App token acts as '<app-slug>[bot]')"
            )
            return None
    return forge


@dataclass
class _ActionRun:
    """One Action run's task service context: its ledger in the runner's temp directory, its
    comment-backed task store and its one executor."""

    ctx: Any
    store: CommentTaskStore
    ledger: Any

    @classmethod
    def build(
        cls,
        runner: RunnerEnv,
        environ: Mapping[str, str],
        settings: Any,
        redactor: Any,
        forge: ActionForge,
        say: Callable[[str], None],
    ) -> _ActionRun:
        from sqlalchemy import create_engine

        from bot.adapters.git import CliGit
        from bot.adapters.ledger import SqlLedger
        from bot.adapters.llm import LiteLLMModels
        from bot.adapters.localforge import LocalForge
        from bot.adapters.prices import load_price_table
        from bot.executor import Executor
        from bot.service.context import Context, RemoteChecks

        run_dir = runner.temp / f"tierbot-{runner.run_id}"
        run_dir.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{run_dir / 'ledger.sqlite3'}"
        ledger_engine = create_engine(url)
        store = CommentTaskStore(
            forge,
            # The run's one executor, built just below with this store as its refusal record.
            act=lambda action: executor.apply(action),
            ledger=ledger_engine,
            redactor=redactor,
            notice=None,
            warn=lambda line: say(f"warning: {line}"),
        )
        executor = Executor(
            github=forge, refusals=store, dry_run=False, redactor=redactor, echo=say
        )
        checks: Any = RemoteChecks()
        if runner.token_kind is TokenKind.DEFAULT:
            checks = LocalForge(env=_check_env(environ), echo=say, redact=redactor, pushes=True)
        login = forge.credentials.login
        ctx = Context(
            github=cast(Any, forge),  # the full forge; Context types the part handlers use
            store=store,
            ledger=SqlLedger(url, redactor=redactor),
            models=LiteLLMModels(env=settings.model_keys(), redact=redactor.tokens),
            prices=load_price_table(),
            workdir=run_dir / "work",
            executor=executor,
            git=CliGit(),
            bot_logins=frozenset({login or ""}) - {""},
            echo=say,
            access=settings.model_access,
            redactor=redactor,
            checks=checks,
            config_path=runner.config_path,
        )
        return cls(ctx, store, ledger_engine)


def _outcome(store: CommentTaskStore, event: Event) -> Outcome:
    if store.refused:
        r = store.refused[-1]
        return Outcome(EXIT_OK, "refused", f"Refused {r.event} by {r.sender}: {r.reason}.")
    items = store.items()
    if not items:
        return Outcome(EXIT_OK, "handled", f"Handled {event.kind}.")
    item = items[-1]
    pr = f" (pull request #{item.pr_number})" if item.pr_number else ""
    return Outcome(
        EXIT_OK, str(item.status), f"Task of #{item.issue}: {item.status}{pr}.", item.pr_number
    )


def _finish(
    runner: RunnerEnv,
    outcome: Outcome,
    echo: Callable[[str], None],
    *,
    ledger: Any = None,
    since: datetime | None = None,
    store: CommentTaskStore | None = None,
) -> int:
    lines = summary.calls(ledger, since=since) if ledger is not None and since else []
    notes = [store.notice] if store is not None and store.notice else []
    summary.append_summary(runner.summary, summary.render(outcome.headline, lines, notes))
    now = summary.total([c for c in lines if c.this_run])
    summary.write_outputs(
        runner.output,
        {
            "status": outcome.status,
            "cost": "unknown" if now is None else f"{now:.6f}",
            "task-cost": _usd(summary.total(lines)),
            "pull-request": str(outcome.pr or ""),
        },
    )
    echo(outcome.headline)
    return outcome.code


def _usd(value: float | None) -> str:
    return "unknown" if value is None else f"{value:.6f}"


def _fork_without_keys(event: Event, keys: Mapping[str, str]) -> str | None:
    """A pull request from a fork runs without the repository's secrets: say so, touch nothing."""
    if event.name != "pull_request" or keys:
        return None
    pull = event.payload.get("pull_request") or {}
    head = ((pull.get("head") or {}).get("repo") or {}).get("full_name")
    base = ((pull.get("base") or {}).get("repo") or {}).get("full_name")
    if head is None or head == base:
        return None
    return (
        f"Pull request #{event.number} comes from the fork {head}, and workflows of forks get "
        "no secrets: tierbot has no model key here and did nothing. A maintainer can label "
        "the pull request or comment `/tierbot review` to run it with the repository's secrets."
    )


def _check_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment for the repository's check command: no token, key or runner secret."""
    return {k: v for k, v in environ.items() if not _RUNNER_SECRETS.search(k)}


def _echo_redacted(echo: Callable[[str], None], redactor: Any) -> Callable[[str], None]:
    return lambda line: echo(redactor(line))
