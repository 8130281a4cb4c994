"""Operating serve and workers: the log format and /metrics options, and their setup."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from bot.metrics import QueueStats

log_format_option = click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text lines, or one JSON object per line (with delivery, job, repository, issue, "
    "task and tier of the job it belongs to).",
)
metrics_port_option = click.option(
    "--metrics-port",
    type=click.IntRange(min=1, max=65535),
    default=None,
    help="Serve Prometheus /metrics of this worker on this port (serve has its own /metrics).",
)


def configure_logs(log_format: str) -> None:
    from bot.logsetup import configure

    configure("json" if log_format == "json" else "text")


def uvicorn_logs(log_format: str) -> dict[str, Any]:
    """uvicorn's own log setup for text; for JSON its loggers go through the root handler."""
    configure_logs(log_format)
    if log_format == "json":
        return {"log_config": None, "log_level": "info"}
    return {"log_level": "info"}


def watch_queue(stats: Callable[[], QueueStats]) -> None:
    from bot import metrics

    metrics.watch_queue(stats)


def start_worker_metrics(stats: Callable[[], QueueStats], port: int | None) -> None:
    from bot import metrics

    metrics.watch_queue(stats)
    if port is not None:
        metrics.serve_metrics(port, host="0.0.0.0")  # scraped from another machine
