"""The only writer: applies Actions through the ports, and only records them under dry-run.

Every action is redacted here before it is applied or recorded: whatever a model wrote or a
log held, no commit, comment, pull request or review carries a secret value of the process
(``Redactor.tokens`` for text, ``Redactor.values`` for file contents, which patterns would
change).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from bot.actions import (
    Action,
    AddLabels,
    Comment,
    Commit,
    OpenPull,
    PostReview,
    RemoveLabel,
    Say,
    UpsertComment,
)
from bot.core.logs import Redactor
from bot.ports import Forge, Workspace


@dataclass(frozen=True)
class Applied:
    action: Action
    commit_sha: str | None = None
    dry_run: bool = False
    result: Any = None


class Executor:
    def __init__(
        self,
        *,
        forge: Forge | None = None,
        workspace: Workspace | None = None,
        github: Any = None,
        dry_run: bool,
        redactor: Redactor | None = None,
        guard: Callable[[], None] = lambda: None,
    ) -> None:
        """``guard`` runs before every write and raises to refuse it (a worker that lost its
        job's lease must not write)."""
        self._forge = forge
        self._workspace = workspace
        self._github = github
        self._dry_run = dry_run
        self._redactor = redactor if redactor is not None else Redactor()
        self._guard = guard
        self.log: list[Applied] = []

    def apply(self, action: Action) -> Applied:
        action = redacted(action, self._redactor)
        if not self._dry_run:
            self._guard()
        if self._dry_run:
            applied = Applied(action, dry_run=True)
        elif isinstance(action, Commit):
            applied = Applied(action, commit_sha=self._commit(action))
        elif isinstance(action, Say):
            if self._forge is not None:
                self._forge.say(action.text)
            applied = Applied(action)
        else:
            applied = Applied(action, result=self._github_write(action))
        self.log.append(applied)
        return applied

    def _commit(self, action: Commit) -> str:
        if self._workspace is None:
            raise RuntimeError("a commit needs a workspace")
        self._workspace.apply(action.edits)
        try:
            return self._workspace.commit(action.message, action.trailers)
        except Exception:
            self._workspace.discard()
            raise

    def _github_write(self, action: Action) -> Any:
        gh = self._github
        if gh is None:
            raise RuntimeError(f"{type(action).__name__} needs a GitHub forge")
        if isinstance(action, UpsertComment):
            return gh.upsert_comment(action.repo, action.number, action.marker, action.body)
        if isinstance(action, Comment):
            return gh.create_comment(action.repo, action.number, action.body)
        if isinstance(action, AddLabels):
            return gh.add_labels(action.repo, action.number, list(action.labels))
        if isinstance(action, RemoveLabel):
            return gh.remove_label(action.repo, action.number, action.label)
        if isinstance(action, OpenPull):
            return gh.create_pull(action.repo, action.head, action.base, action.title, action.body)
        if isinstance(action, PostReview):
            # Imported here: the adapter pulls in PyGithub, which local runs never need.
            from bot.adapters.github import InlineComment

            comments = [InlineComment(c.path, c.line, c.body, c.side) for c in action.comments]
            return gh.create_review(
                action.repo, action.number, action.commit_id, action.body, comments
            )
        raise TypeError(f"unknown action {action!r}")


def redacted(action: Action, redactor: Redactor) -> Action:
    """``action`` with every text it writes redacted; file contents lose exact values only."""
    text = redactor.tokens
    if isinstance(action, Commit):
        edits = tuple(
            replace(e, content=None if e.content is None else redactor.values(e.content))
            for e in action.edits.edits
        )
        trailers = {k: text(v) for k, v in action.trailers.items()}
        return replace(
            action,
            edits=replace(action.edits, edits=edits),
            message=text(action.message),
            trailers=trailers,
        )
    if isinstance(action, Say):
        return replace(action, text=text(action.text))
    if isinstance(action, UpsertComment | Comment):
        return replace(action, body=text(action.body))
    if isinstance(action, OpenPull):
        return replace(action, title=text(action.title), body=text(action.body))
    if isinstance(action, PostReview):
        comments = tuple(replace(c, body=text(c.body)) for c in action.comments)
        return replace(action, body=text(action.body), comments=comments)
    return action
