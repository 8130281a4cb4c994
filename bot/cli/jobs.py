"""``tierbot jobs``: the operator's view of the queue (TIERBOT_DB_URL), and ``jobs retry``."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from bot.cli.common import env_file_option, fail, settings_from_env
from bot.queue_port import JOB_STATES, JobQuery, JobRow, job_state

if TYPE_CHECKING:
    from bot.metrics import QueueStats
    from bot.queue_port import JobBoard

COLUMNS = ("ID", "STATE", "KEY", "EVENT", "DELIVERY", "ATTEMPTS", "WORKER", "AGE", "ERROR")


def age_text(seconds: float) -> str:
    """45s, 12m, 3h, 2d: the largest whole unit."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def first_line(text: str) -> str:
    return (text.strip().splitlines() or [""])[0]


def _repo(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and (value.count("/") != 1 or "" in value.split("/")):
        raise click.BadParameter(f"{value!r} is not OWNER/REPO")
    return value


@contextmanager
def job_board(env_file: Path | None) -> Iterator[tuple[JobBoard, Callable[[str], str]]]:
    """The queue of TIERBOT_DB_URL, once its schema is current; a database that cannot be read
    is an error (exit 1)."""
    from sqlalchemy.exc import SQLAlchemyError

    from bot.adapters.ledger import SqlLedger
    from bot.adapters.queue_rows import QueueUnavailable
    from bot.db_cli import require_schema, require_tables
    from bot.queue_port import job_board as board_of
    from bot.queue_port import open_queue

    settings = settings_from_env(env_file)
    url = settings.server_db_url()
    require_tables(url)
    require_schema(url)
    redactor = settings.redactor()
    try:
        with SqlLedger(url, redactor=redactor) as ledger:
            yield board_of(open_queue(ledger), ledger), redactor
    except (QueueUnavailable, SQLAlchemyError) as exc:
        first = first_line(str(exc)) or type(exc).__name__
        raise click.ClickException(redactor(f"cannot read the queue: {first}")) from None


def by_state(stats: QueueStats) -> dict[str, int]:
    """The queue's counts in ``JOB_STATES`` (retrying jobs are counted as queued)."""
    counts: dict[str, int] = {}
    for raw, n in stats.jobs_by_state.items():
        counts[job_state(raw)] = counts.get(job_state(raw), 0) + n
    return counts


def summary(stats: QueueStats) -> str:
    """``12 jobs: 3 waiting (the oldest for 4m), 1 running, 7 done, 1 failed``."""
    counts = by_state(stats)
    oldest = f" (the oldest for {age_text(stats.oldest_waiting_s)})" if stats.depth else ""
    parts = [f"{stats.depth} waiting{oldest}"]
    parts += [f"{counts[s]} {s}" for s in JOB_STATES[2:] if counts.get(s)]
    return f"{sum(counts.values())} jobs: {', '.join(parts)}"


def cells(job: JobRow, now: datetime) -> tuple[str, ...]:
    event = f"{job.event}.{job.action}" if job.action else job.event
    age = age_text(max(0.0, (now - job.created_at).total_seconds()))
    attempts, error = str(job.attempts), first_line(job.error)[:80]
    worker = job.worker or "-"
    return (str(job.id), job.state, job.key, event, job.delivery_id, attempts, worker, age, error)


def table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]


def as_json(stats: QueueStats, jobs: list[JobRow], now: datetime) -> dict[str, Any]:
    return {
        "summary": {
            "by_state": by_state(stats),
            "waiting": stats.depth,
            "oldest_waiting_s": round(stats.oldest_waiting_s, 1),
        },
        "jobs": [
            {
                "id": job.id,
                "state": job.state,
                "key": job.key,
                "event": job.event,
                "action": job.action,
                "delivery_id": job.delivery_id,
                "attempts": job.attempts,
                "worker": job.worker or None,
                "created_at": job.created_at.astimezone(UTC).isoformat(),
                "age_s": round(max(0.0, (now - job.created_at).total_seconds()), 1),
                "error": job.error or None,
            }
            for job in jobs
        ],
    }


@click.group(invoke_without_command=True)
@click.option(
    "--state",
    "states",
    multiple=True,
    type=click.Choice(JOB_STATES),
    help="Only jobs in this state (repeat for several).",
)
@click.option("--repo", callback=_repo, metavar="OWNER/REPO", help="Only this repository's jobs.")
@click.option(
    "--limit", default=50, show_default=True, type=click.IntRange(min=1), help="At most N jobs."
)
@click.option("--json", "as_json_", is_flag=True, help="One JSON object: summary and jobs.")
@env_file_option
@click.pass_context
def jobs(
    ctx: click.Context,
    states: tuple[str, ...],
    repo: str | None,
    limit: int,
    as_json_: bool,
    env_file: Path | None,
) -> None:
    """The webhook jobs of the queue (TIERBOT_DB_URL), newest first, after a summary line.

    `tierbot jobs retry JOB_ID` queues a failed job to run again.
    """
    ctx.obj = env_file  # ``jobs --env-file F retry N`` reads the same file
    if ctx.invoked_subcommand is not None:
        return
    with job_board(env_file) as (board, redact):
        stats = board.stats()
        found = board.jobs(JobQuery(states=tuple(dict.fromkeys(states)), repo=repo, limit=limit))
    now = datetime.now(UTC)
    if as_json_:
        click.echo(redact(json.dumps(as_json(stats, found, now), indent=2)))
        return
    click.echo(redact(summary(stats)))
    if found:
        for line in table([COLUMNS, *(cells(job, now) for job in found)]):
            click.echo(redact(line))


@jobs.command()
@click.argument("job_id", type=int)
@env_file_option
@click.pass_obj
def retry(group_env_file: Path | None, job_id: int, env_file: Path | None) -> None:
    """Queue a failed job to run again (exit 2 for an unknown job or one that is not failed)."""
    from bot.queue_port import NotRetryable

    with job_board(env_file or group_env_file) as (board, redact):
        try:
            job = board.retry(job_id)
        except NotRetryable as exc:
            fail(str(exc))
            return
    what = f"{job.event}.{job.action}" if job.action else job.event
    click.echo(redact(f"job {job.id} ({job.key} {what}) is queued to run again"))
