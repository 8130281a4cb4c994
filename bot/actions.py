"""What the core asks the outside world to do; the executor is the only place that does it."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.core.types import EditSet


@dataclass(frozen=True)
class Commit:
    """Write the edits into the task's workspace and commit them on its branch."""

    edits: EditSet
    message: str
    trailers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Say:
    """Tell the people following the task (terminal locally, a comment on GitHub)."""

    text: str


Action = Commit | Say
