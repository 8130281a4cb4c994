"""Route a task to its ladder: task type from a flag, a label or the task text."""

from __future__ import annotations

import re

from bot.config import ConfigError, RepoConfig
from bot.core.escalation import Ladder

# Words that mark grunt work, checked in order; the first match wins.
TYPE_HINTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("review", re.compile(r"(?i)\breview\b")),
    ("debug", re.compile(r"(?i)\b(debug|diagnos\w*|why does .* fail)\b")),
    ("refactor", re.compile(r"(?i)\brefactor\w*\b")),
    ("tests", re.compile(r"(?i)\b(skeleton )?tests?\b")),
    ("stub", re.compile(r"(?i)\bstubs?\b")),
    ("config", re.compile(r"(?i)\b(config|configuration|workflow|editorconfig|pre-commit)\b")),
    ("docs", re.compile(r"(?i)\b(docs?|documentation|readme|docstrings?)\b")),
    ("boilerplate", re.compile(r"(?i)\bboilerplate\b")),
)


def infer_type(text: str, known: frozenset[str] | set[str]) -> str:
    """A best guess from the task text; ``feature`` when nothing matches."""
    for name, pattern in TYPE_HINTS:
        if name in known and pattern.search(text):
            return name
    return "feature"


def type_for_label(config: RepoConfig, label: str) -> str | None:
    for spec in config.task_types.values():
        if spec.label == label:
            return spec.name
    return None


def route(config: RepoConfig, task_type: str) -> Ladder:
    spec = config.task_type(task_type)
    if spec.output != "commit":
        raise ConfigError(
            config.source,
            f"task_types.{task_type}.output",
            f"{task_type} tasks comment on a pull request; `tierbot run` makes commits",
            ", ".join(n for n, s in config.task_types.items() if s.output == "commit"),
        )
    return Ladder(
        tiers=config.ladder, start=spec.start, ceiling=spec.ceiling, attempts=spec.attempts
    )
