"""The ``tierbot`` command line. Heavy modules load inside commands, so --help is instant."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from bot import __version__
from bot.init import init

EXIT_DONE = 0
EXIT_NEEDS_HUMAN = 1
EXIT_USAGE = 2  # bad input: invalid config, not a repository, unreadable task file
EXIT_BUDGET_STOP = 3
REPO_HELP = "Any directory inside the repository."
F = TypeVar("F", bound=Callable[..., Any])


def _fail(message: str) -> None:
    click.echo(f"tierbot: error: {message}", err=True)
    raise SystemExit(EXIT_USAGE)


def _protect_logs(redactor: Any) -> None:
    """Every log handler configured so far (and Python's last-resort one) redacts its records."""
    import logging

    from bot.core.logs import RedactingFilter

    found = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    handlers = {h for lg in found if isinstance(lg, logging.Logger) for h in lg.handlers}
    for handler in handlers | ({logging.lastResort} if logging.lastResort else set()):
        for old in [f for f in handler.filters if isinstance(f, RedactingFilter)]:
            handler.removeFilter(old)  # a second command in one process (tests) replaces it
        handler.addFilter(RedactingFilter(redactor))


def _repo_option(help_text: str | None = REPO_HELP) -> Callable[[F], F]:
    """``--repo``: the local repository a command works on."""
    return click.option(
        "--repo",
        "repo_path",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("."),
        show_default=True,
        help=help_text,
    )


_env_file_option = click.option(
    "--env-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Read TIERBOT_* settings from this file (tierbot init writes .tierbot/app.env); "
    "variables already in the environment win.",
)


def _settings(env_file: Path | None = None) -> Any:
    """Settings from the environment (over ``env_file``); an unreadable file or a malformed
    allowlist setting is a usage error."""
    from bot.access import AccessError
    from bot.settings import EnvFileError, Settings, environ_with_file

    try:
        environ, shadowed = environ_with_file(os.environ, env_file)
        settings = Settings.from_env(environ)
    except (EnvFileError, AccessError) as exc:
        _fail(str(exc))
    for name in shadowed:
        click.echo(f"tierbot: {name} from the environment overrides {env_file}", err=True)
    return settings


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tierbot")
def cli() -> None:
    """Route coding tasks by complexity: template -> intern -> junior -> senior."""


@cli.command()
@click.argument("text", required=False)
@click.option(
    "--issue-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Read the task text from a file (e.g. an issue body in Markdown).",
)
@click.option(
    "--type",
    "task_type",
    help="Task type (stub, tests, config, docs, feature, ...); guessed from the text when omitted.",
)
@_repo_option()
@click.option("--base", default="HEAD", show_default=True, help="Commit to branch from.")
@click.option("--dry-run", is_flag=True, help="Plan and estimate cost; no model call, no commit.")
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable result.")
def run(
    text: str | None,
    issue_file: Path | None,
    task_type: str | None,
    repo_path: Path,
    base: str,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Take a task up the tier ladder on a new tierbot/<slug> branch of a local repository."""
    from bot.adapters.git import GitError, LocalRepo
    from bot.config import ConfigError, load_repo_config
    from bot.core.routing import infer_type, route
    from bot.engine import make_task

    task_text = _task_text(text, issue_file)
    settings = _settings()
    redactor = settings.redactor()
    _protect_logs(redactor)
    try:
        repo = LocalRepo.open(repo_path)
        repo.head_sha()
        config = load_repo_config(repo.root, access=settings.model_access)
        name = task_type or infer_type(
            task_text, {n for n, t in config.task_types.items() if t.output == "commit"}
        )
        task = make_task(task_text, name)
        route(config, task.type)
    except (GitError, ConfigError) as exc:
        _fail(str(exc))
        return
    if dry_run:
        _dry_run(repo, config, settings, task, as_json)
        return
    result = _run(repo, config, settings, task, redactor)
    if as_json:
        click.echo(redactor.tokens(json.dumps(result.to_json(), indent=2)))
    else:
        click.echo(redactor(result.status_line()))
    from bot.core.types import Status

    raise SystemExit(
        {Status.DONE: EXIT_DONE, Status.BUDGET_STOP: EXIT_BUDGET_STOP}.get(
            result.status, EXIT_NEEDS_HUMAN
        )
    )


def _task_text(text: str | None, issue_file: Path | None) -> str:
    if text and issue_file:
        _fail("give the task as TEXT or --issue-file, not both")
    if issue_file is not None:
        try:
            text = issue_file.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            _fail(f"cannot read --issue-file {issue_file}: {exc}")
    if not text or not text.strip():
        _fail("no task given: pass TEXT or --issue-file FILE")
    assert text is not None
    return text


def _engine(repo: Any, config: Any, settings: Any, *, echo: Any, redactor: Any) -> Any:
    from bot.adapters.ledger import SqlLedger
    from bot.adapters.llm import LiteLLMModels
    from bot.adapters.localforge import LocalForge
    from bot.adapters.prices import load_price_table
    from bot.engine import Engine

    return Engine(
        config=config,
        models=LiteLLMModels(env=settings.model_keys(), redact=redactor.tokens),
        ledger=SqlLedger(settings.ledger_url(repo.git_dir), redactor=redactor),
        forge=LocalForge(env=settings.env, echo=echo, redact=redactor),
        prices=load_price_table(),
        repo=str(repo.root),
        progress=echo,
    )


def _run(repo: Any, config: Any, settings: Any, task: Any, redactor: Any) -> Any:
    from bot.executor import Executor

    def echo(line: str) -> None:
        click.echo(f"tierbot: {redactor(line)}", err=True)

    engine = _engine(repo, config, settings, echo=echo, redactor=redactor)
    branch = repo.unique_branch(task.slug)
    echo(f"{task.type} task on branch {branch} (worktree; your checkout is not touched)")
    workspace = repo.add_worktree(branch)
    try:
        executor = Executor(
            forge=engine.forge, workspace=workspace, dry_run=False, redactor=redactor
        )
        result = engine.run(task, workspace, executor)
    finally:
        repo.remove_worktree(workspace)
    if result.branch is None:
        repo.delete_branch(branch)
    return result


def _dry_run(repo: Any, config: Any, settings: Any, task: Any, as_json: bool) -> None:
    from bot.adapters.git import CheckoutView
    from bot.engine import plan

    engine = _engine(repo, config, settings, echo=lambda _line: None, redactor=settings.redactor())
    result = plan(engine, task, CheckoutView(repo))
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2))
        return
    click.echo(f"plan for a {task.type} task (dry run: no model call, no commit)")
    for t in result.tiers:
        price = (
            f"${t.price.input_per_mtok:g}/${t.price.output_per_mtok:g} per 1M in/out"
            if t.price
            else "price unknown"
        )
        worst = f"${t.worst_per_call_usd:.4f}" if t.worst_per_call_usd is not None else "unknown"
        if t.model == "template":
            click.echo(f"  {t.tier:<9} free: {t.note}")
        else:
            click.echo(
                f"  {t.tier:<9} {t.model}: ~{t.prompt_tokens} tokens in, up to "
                f"{t.max_output_tokens} out, {price}; worst case {worst}/call, "
                f"up to {t.max_calls} calls"
            )
    total = result.worst_total_usd
    shown = f"${total:.4f}" if total is not None else "unknown"
    click.echo(f"worst case for the whole ladder: {shown} (budget per task ${result.budget_usd:g})")


@cli.command()
@_repo_option(help_text=None)
@click.option("--all-repos", is_flag=True, help="Every repository in the ledger database.")
@click.option("--json", "as_json", is_flag=True)
def report(repo_path: Path, all_repos: bool, as_json: bool) -> None:
    """Where the money went: spend by task type and tier, green rates, escalations."""
    from bot.adapters.git import GitError, LocalRepo
    from bot.adapters.ledger import SqlLedger
    from bot.config import ConfigError, load_repo_config
    from bot.report import build_report, render_table, report_to_json

    settings = _settings()
    try:
        repo = LocalRepo.open(repo_path)
        config = load_repo_config(repo.root, access=settings.model_access)
    except (GitError, ConfigError) as exc:
        _fail(str(exc))
        return
    ledger = SqlLedger(settings.ledger_url(repo.git_dir))
    data = build_report(ledger, repo=None if all_repos else str(repo.root), ladder=config.ladder)
    if as_json:
        click.echo(json.dumps(report_to_json(data), indent=2))
        return
    from rich.console import Console

    render_table(data, Console())


@cli.command()
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
        _fail(f"--dir {root} is not empty")
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


@cli.group()
def hooks() -> None:
    """Git hooks: skeleton tests and marked stubs written before a commit (docs/hooks.md)."""


@hooks.command("install")
@_repo_option()
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


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(min=0),
    help="Worker processes started beside the web process.",
)
@_env_file_option
def serve(host: str, port: int, workers: int, env_file: Path | None) -> None:
    """Receive GitHub webhooks (POST /webhook) and run workers for them."""
    import signal
    import subprocess

    import uvicorn

    from bot.adapters.ledger import SqlLedger
    from bot.adapters.queue_sql import SqlQueue
    from bot.intake.web import create_app

    settings = _settings(env_file)
    if not settings.webhook_secret:
        _fail("TIERBOT_WEBHOOK_SECRET is not set: the secret configured on the GitHub App")
    redactor = settings.redactor()
    ledger = SqlLedger(settings.server_db_url(), redactor=redactor)
    app = create_app(secret=settings.webhook_secret, queue=SqlQueue(ledger), redact=redactor)
    # uvicorn sets its log handlers up when its Config is made: redact them after that.
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="info"))
    _protect_logs(redactor)
    children = [
        subprocess.Popen([sys.executable, "-m", "bot", "worker"], env=dict(settings.env))
        for _ in range(workers)
    ]
    try:
        server.run()
    finally:
        for child in children:
            child.send_signal(signal.SIGTERM)
        for child in children:
            child.wait(timeout=30)


@cli.command()
@click.option(
    "--lease",
    default=120.0,
    show_default=True,
    type=click.FloatRange(min=2.0),
    help="Seconds a claimed job is held without a heartbeat; a killed worker's job waits this "
    "long before another worker resumes it.",
)
@_env_file_option
def worker(lease: float, env_file: Path | None) -> None:
    """Claim queued webhook jobs and run them (start as many as you like, on any machine)."""
    import logging
    import signal
    import socket
    import threading

    from bot.adapters.github import is_permanent
    from bot.adapters.github.auth import GitHubConfigError
    from bot.adapters.ledger import SqlLedger
    from bot.adapters.queue_sql import SqlQueue
    from bot.handlers import build_router
    from bot.wiring import context_factory
    from bot.worker import LEASE_MARGIN, Worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = _settings(env_file)
    redactor = settings.redactor()
    _protect_logs(redactor)
    try:
        from bot.adapters.github.auth import GitHubApp

        GitHubApp.from_env(settings.env, redactor=redactor)
    except GitHubConfigError as exc:
        _fail(str(exc))
    ledger = SqlLedger(settings.server_db_url(), redactor=redactor)
    name = f"{socket.gethostname()}:{os.getpid()}"
    context = context_factory(
        settings, ledger, echo=lambda line: click.echo(redactor(line), err=True), redactor=redactor
    )
    runner = Worker(
        queue=SqlQueue(ledger, lease_s=lease),
        router=build_router(),
        context=context,
        name=name,
        heartbeat_s=lease * LEASE_MARGIN / 2,
        is_permanent=is_permanent,
        redact=redactor,
    )
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    click.echo(f"tierbot worker {name} started", err=True)
    runner.run_forever(stop)


@cli.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--event", "event_name", required=True, help="The X-GitHub-Event name.")
@click.option("--dry-run", is_flag=True, help="Print the actions; change nothing.")
def replay(file: Path, event_name: str, dry_run: bool) -> None:
    """Run a recorded webhook delivery through the same router as the server."""
    from bot.adapters.ledger import SqlLedger
    from bot.events import EventError, parse_event
    from bot.handlers import build_router
    from bot.wiring import context_factory

    try:
        payload = json.loads(file.read_text("utf-8"))
        event = parse_event(event_name, f"replay-{file.name}", payload)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        _fail(f"cannot read {file}: {exc}")
        return
    except EventError as exc:
        _fail(f"{file} is not a valid {event_name} payload: {exc}")
        return
    settings = _settings()
    redactor = settings.redactor()
    _protect_logs(redactor)
    offline = dry_run and not settings.env.get("TIERBOT_APP_ID")
    url = (settings.db_url or "sqlite://") if dry_run else settings.server_db_url()
    ledger = SqlLedger(url, redactor=redactor)
    handlers = build_router().handlers_for(event)
    click.echo(
        f"{event.kind} for {event.repo.full_name if event.repo else '?'}: "
        f"{len(handlers)} handler(s)"
    )
    ctx = context_factory(
        settings,
        ledger,
        dry_run=dry_run,
        offline=offline,
        echo=lambda line: click.echo(redactor(line)),
        redactor=redactor,
    )(event)
    for handler in handlers:
        click.echo(f"- {handler.__module__}.{handler.__name__}")
        handler(event, ctx)
    if dry_run and not ctx.executor.log:
        click.echo("no writes")


cli.add_command(init)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="tierbot")
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
