"""What a template generator is given, how it declines, and the line length it writes to."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.core.types import EditSet

# Ruff's and black's default: generated files should come out of an untouched formatter as-is.
LINE_LENGTH = 88


@dataclass(frozen=True)
class TemplateRequest:
    task_type: str  # "tests", "stub", "config", or anything else
    text: str  # the task text written by a user (untrusted; may name files)
    files: Sequence[str]  # all repo paths (posix, relative)
    read: Callable[[str], str | None]  # read a repo file's text, None if absent
    # Paths the configuration forbids tierbot to commit (``paths.protected``): a generator
    # offers such a file as a suggestion instead of writing it.
    protected: Callable[[str], bool] = lambda _path: False


@dataclass(frozen=True)
class Declined:
    """The template tier does not handle this task; ``reason`` says why, for the task log."""

    reason: str


@dataclass(frozen=True)
class NothingToDo:
    """The task is invalid or already done (a named module that does not exist, every name
    already tested): no tier could do better, so the task ends here and nothing climbs."""

    reason: str


@dataclass(frozen=True)
class Suggestion:
    """A file the generator would write but may not (a protected path): shown, not committed."""

    path: str
    content: str
    why: str

    def render(self) -> str:
        """The file as Markdown, for a commit message or a pull request's body."""
        fence = "````" if "```" in self.content else "```"
        return f"### {self.path}\n{fence}\n{self.content.rstrip()}\n{fence}"


@dataclass(frozen=True)
class Proposal(EditSet):
    """Edits to commit, and files offered as suggestions beside them."""

    suggestions: tuple[Suggestion, ...] = ()

    def note(self) -> str:
        """The suggestions as a commit message section ("" without any)."""
        if not self.suggestions:
            return ""
        head = "Suggested, not committed:\n\n" + "\n".join(
            f"- {s.path}: {s.why}" for s in self.suggestions
        )
        return head + "\n\n" + "\n\n".join(s.render() for s in self.suggestions)
