"""The GitHub App's processes: ``tierbot serve`` (webhooks), ``worker`` (jobs), ``replay``."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from bot.cli.common import (
    env_file_option,
    fail,
    protect_logs,
    settings_from_env,
)
from bot.db_cli import require_schema
from bot.ops_cli import (
    configure_logs,
    log_format_option,
    metrics_port_option,
    start_worker_metrics,
    uvicorn_logs,
    watch_queue,
)
from bot.queue_port import job_outcomes, open_queue, run_jobs


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(min=0),
    help="Worker processes started beside the web process.",
)
@log_format_option
@env_file_option
def serve(host: str, port: int, workers: int, log_format: str, env_file: Path | None) -> None:
    """Receive GitHub webhooks (POST /webhook) and run workers for them."""
    import signal
    import subprocess

    import uvicorn

    from bot.adapters.ledger import SqlLedger
    from bot.intake.web import create_app

    settings = settings_from_env(env_file)
    if not settings.webhook_secret:
        fail("TIERBOT_WEBHOOK_SECRET is not set: the secret configured on the GitHub App")
    redactor = settings.redactor()
    require_schema(settings.server_db_url())
    ledger = SqlLedger(settings.server_db_url(), redactor=redactor)
    queue = open_queue(ledger)
    watch_queue(queue.stats)
    app = create_app(secret=settings.webhook_secret, queue=queue, redact=redactor)
    # uvicorn sets its log handlers up when its Config is made: redact them after that.
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, **uvicorn_logs(log_format)))
    protect_logs(redactor)
    argv = [sys.executable, "-m", "bot", "worker", "--log-format", log_format]
    children = [subprocess.Popen(argv, env=dict(settings.env)) for _ in range(workers)]
    # uvicorn shuts down on SIGTERM, then raises the signal again: exit through ``finally``,
    # which stops the workers, instead of dying with them left running.
    signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))
    try:
        server.run()
    finally:
        for child in children:
            child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:  # mid-job: its lease lets another worker resume
                child.kill()


@click.command()
@click.option(
    "--lease",
    default=120.0,
    show_default=True,
    type=click.FloatRange(min=2.0),
    help="Seconds a claimed job is held without a heartbeat; a killed worker's job waits this "
    "long before another worker resumes it.",
)
@log_format_option
@metrics_port_option
@env_file_option
def worker(lease: float, log_format: str, metrics_port: int | None, env_file: Path | None) -> None:
    """Claim queued webhook jobs and run them (start as many as you like, on any machine)."""
    import signal
    import socket
    import threading

    from bot.adapters.github import is_permanent
    from bot.adapters.github.auth import GitHubConfigError
    from bot.handlers import build_router
    from bot.metrics import MeteredLedger
    from bot.wiring import context_factory
    from bot.worker import LEASE_MARGIN, Worker

    configure_logs(log_format)
    settings = settings_from_env(env_file)
    redactor = settings.redactor()
    protect_logs(redactor)
    try:
        from bot.adapters.github.auth import GitHubApp

        GitHubApp.from_env(settings.env, redactor=redactor)
    except GitHubConfigError as exc:
        fail(str(exc))
    require_schema(settings.server_db_url())
    ledger = MeteredLedger(settings.server_db_url(), redactor=redactor)
    name = f"{socket.gethostname()}:{os.getpid()}"
    context = context_factory(
        settings, ledger, echo=lambda line: click.echo(redactor(line), err=True), redactor=redactor
    )
    queue = open_queue(ledger, lease_s=lease)
    start_worker_metrics(queue.stats, metrics_port)
    runner = Worker(
        queue=job_outcomes(queue, ledger, lease_s=lease),
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
    run_jobs(queue, ledger, runner, stop, lease_s=lease)


@click.command()
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
        fail(f"cannot read {file}: {exc}")
        return
    except EventError as exc:
        fail(f"{file} is not a valid {event_name} payload: {exc}")
        return
    settings = settings_from_env()
    redactor = settings.redactor()
    protect_logs(redactor)
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
