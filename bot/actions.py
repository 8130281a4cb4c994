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
class Push:
    """Send the workspace's branch to the forge: a commit counts (and CI runs) once pushed."""

    branch: str


@dataclass(frozen=True)
class Say:
    """Tell the people following the task (terminal locally)."""

    text: str


@dataclass(frozen=True)
class Refuse:
    """Record that a trigger was refused (who, on what, why): never dropped silently."""

    repo: str
    number: int | None
    sender: str
    event: str
    reason: str


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


@dataclass(frozen=True)
class ReviewLine:
    """One inline comment of a review: ``line`` of ``path`` on ``side`` ("RIGHT" or "LEFT")."""

    path: str
    line: int
    side: str
    body: str


@dataclass(frozen=True)
class PostReview:
    """One pull request review at ``commit_id``: a body and inline comments on diff lines."""

    repo: str
    number: int
    commit_id: str
    body: str
    comments: tuple[ReviewLine, ...] = ()


@dataclass(frozen=True)
class UpsertIssue:
    """The bot's own issue titled ``title`` (or carrying ``marker``): edit it in place and
    reopen it if it was closed, else create it; never a second one (the dashboard)."""

    repo: str
    title: str
    marker: str
    body: str


@dataclass(frozen=True)
class EditBody:
    """Replace the body of an issue or pull request the bot opened."""

    repo: str
    number: int
    body: str


GitHubAction = (
    UpsertComment
    | Comment
    | AddLabels
    | RemoveLabel
    | OpenPull
    | PostReview
    | UpsertIssue
    | EditBody
)
Action = Commit | Push | Say | Refuse | GitHubAction
