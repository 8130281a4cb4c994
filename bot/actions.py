"""What the core and the handlers ask the outside world to do; the executor does it."""

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
    """Tell the people following the task (terminal locally)."""

    text: str


@dataclass(frozen=True)
class UpsertComment:
    """Create the bot's comment that carries ``marker``, or edit it in place."""

    repo: str
    number: int
    marker: str
    body: str


@dataclass(frozen=True)
class Comment:
    repo: str
    number: int
    body: str


@dataclass(frozen=True)
class AddLabels:
    repo: str
    number: int
    labels: tuple[str, ...]


@dataclass(frozen=True)
class RemoveLabel:
    repo: str
    number: int
    label: str


@dataclass(frozen=True)
class OpenPull:
    repo: str
    head: str
    base: str
    title: str
    body: str


GitHubAction = UpsertComment | Comment | AddLabels | RemoveLabel | OpenPull
Action = Commit | Say | GitHubAction
