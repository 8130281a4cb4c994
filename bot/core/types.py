"""Plain values shared by the pure core and the adapters: tasks, edits, outcomes, usage."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum


class Outcome(StrEnum):
    """How one attempt at one tier ended."""

    GREEN = "green"  # the edit was committed and the check passed
    DECLINED = "declined"  # the template tier does not handle this task; costs nothing
    NOTHING_TO_DO = "nothing-to-do"  # the task is invalid or already done: no tier can help
    INVALID_EDIT = "invalid-edit"  # unparseable output, ambiguous edit, syntax error
    POLICY = "policy"  # the edit touches a path outside policy or a protected path
    CHECK_FAILED = "check-failed"  # committed, but the check command failed
    MODEL_ERROR = "model-error"  # model unreachable, timed out or returned garbage
    AUTH_ERROR = "auth-error"  # the provider refused the key: retrying cannot help
    CONTEXT_EXCEEDED = "context-exceeded"  # the prompt does not fit this tier
    BUDGET = "budget"  # the call was refused before it was made
    INTERRUPTED = "interrupted"  # its worker stopped (killed, lease lost); the step runs again


LOCAL_FAILURES = frozenset({Outcome.INVALID_EDIT, Outcome.POLICY})


class Status(StrEnum):
    """How a whole task ended."""

    RUNNING = "running"
    DONE = "done"
    NEEDS_HUMAN = "needs-human"
    BUDGET_STOP = "budget-stop"
    NOTHING_TO_DO = "nothing-to-do"  # invalid, empty or already done; nothing was charged
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"  # its worker stopped and a new task of the same slug replaced it


@dataclass(frozen=True)
class FileEdit:
    """One file's new content (``content is None`` deletes the file)."""

    path: str
    content: str | None


@dataclass(frozen=True)
class Usage:
    """Token counts as reported by the provider; ``None`` when the provider did not say."""

    prompt_tokens: int | None
    completion_tokens: int | None


@dataclass(frozen=True)
class Task:
    """A unit of work. ``parent_id`` links the subtasks of a planned feature to their parent.

    Tasks with the same ``budget_key`` share one per-task budget (on GitHub, every run for one
    issue: retries, escalations, relabels); "" gives the task a budget of its own.
    """

    type: str
    text: str
    title: str
    slug: str
    parent_id: int | None = None
    budget_key: str = ""


@dataclass(frozen=True)
class AttemptRecord:
    """What the escalation policy needs to know about an attempt already made."""

    tier: str
    outcome: Outcome
    cost_usd: float | None = 0.0
    detail: str = ""


@dataclass(frozen=True)
class Message:
    role: str  # "system" | "user" | "assistant"
    content: str


@dataclass(frozen=True)
class Completion:
    text: str
    usage: Usage
    latency_s: float
    model: str


@dataclass(frozen=True)
class CheckResult:
    passed: bool
    exit_code: int | None  # None: timed out or could not start
    duration_s: float
    command: str
    output: str = ""
    excerpt: str = ""
    timed_out: bool = False


@dataclass(frozen=True)
class EditSet:
    edits: tuple[FileEdit, ...] = field(default_factory=tuple)

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(e.path for e in self.edits)


def slugify(text: str, *, limit: int = 48) -> str:
    """A branch- and file-safe name for a task: its words, lower case, joined by dashes."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    slug = "-".join(words)[:limit].strip("-")
    return slug or "task"
