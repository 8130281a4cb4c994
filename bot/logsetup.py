"""Log setup of serve and workers: text or JSON lines, each carrying the job it belongs to.

A worker binds the delivery id, job id, repository and issue or pull request when it starts a
job, and the ledger binds the task id and tier when a task or attempt starts; every line logged
in that thread until the job ends carries them. Secrets are scrubbed by the redacting filter the
CLI puts on every handler, before a formatter here renders the record.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal

LogFormat = Literal["text", "json"]
FORMATS: tuple[LogFormat, ...] = ("text", "json")
FIELDS = ("delivery_id", "job_id", "repo", "number", "task_id", "tier")

_context: ContextVar[dict[str, Any] | None] = ContextVar("tierbot_log_context", default=None)


def bind(**fields: Any) -> None:
    """Add fields to the context of this thread's (or task's) log lines."""
    current = _context.get() or {}
    _context.set({**current, **{k: v for k, v in fields.items() if v is not None}})


def context() -> dict[str, Any]:
    return dict(_context.get() or {})


@contextmanager
def job_scope(*, delivery_id: str, job_id: int | str, key: str) -> Iterator[None]:
    """The log context of one job; ``key`` is ``owner/repo#number`` (or just the repo)."""
    repo, _, number = key.partition("#")
    token = _context.set({})
    bind(delivery_id=delivery_id, job_id=job_id, repo=repo or None, number=number or None)
    try:
        yield
    finally:
        _context.reset(token)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the job's fields, traceback."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(context())
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["traceback"] = record.exc_text
        return json.dumps(line, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """The usual text line, with the job's fields appended as ``key=value``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = context()
        if not fields:
            return text
        head, sep, rest = text.partition("\n")  # fields on the first line, before a traceback
        tail = " ".join(f"{k}={fields[k]}" for k in FIELDS if k in fields)
        return f"{head} [{tail}]{sep}{rest}"


QUIET_LOGGERS = ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy")


def configure(fmt: LogFormat = "text", *, level: int = logging.INFO) -> logging.Handler:
    """Replace the root logger's handlers with one on stderr in ``fmt``; returns it."""
    if fmt not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # litellm logs every call at INFO to stdout through its own handler; the metered call
    # records each call already, so only its warnings are kept.
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
    return handler
