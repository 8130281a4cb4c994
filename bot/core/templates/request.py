"""What a template generator is given, how it declines, and the line length it writes to."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

# Ruff's and black's default: generated files should come out of an untouched formatter as-is.
LINE_LENGTH = 88


@dataclass(frozen=True)
class TemplateRequest:
    task_type: str  # "tests", "stub", "config", or anything else
    text: str  # the task text written by a user (untrusted; may name files)
    files: Sequence[str]  # all repo paths (posix, relative)
    read: Callable[[str], str | None]  # read a repo file's text, None if absent


@dataclass(frozen=True)
class Declined:
    """The template tier does not handle this task; ``reason`` says why, for the task log."""

    reason: str
