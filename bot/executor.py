"""The only writer: applies Actions through the ports, and only records them under dry-run.

One executor is built per job (``bot/wiring.py``) and per ``tierbot run``, and handed down; the
service and the engine never decide dry-run themselves: work that would write is started with
``Executor.begin``, which in a dry run says what would happen instead.

Every action is redacted here before it is applied or recorded: whatever a model wrote or a
log held, no commit, comment, pull request or review carries a secret value of the process
(``Redactor.tokens`` for text, ``Redactor.values`` for file contents, which patterns would
change).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Protocol, TypeVar

from bot.actions import (
    Action,
    AddLabels,
    Comment,
    Commit,
    EditBody,
    OpenPull,
    PostReview,
    Push,
    Refuse,
    RemoveLabel,
    Say,
    UpsertComment,
    UpsertIssue,
)
from bot.core.logs import Redactor
from bot.ports import Checks, Workspace
from bot.ports.github import BranchWorkspace, GitHubWrites, InlineComment, PullInfo
from bot.ports.tasks import Refusal

_T = TypeVar("_T")


class Refusals(Protocol):
    def refuse(self, refusal: Refusal) -> None: ...


@dataclass(frozen=True)
class Applied:
    action: Action
    commit_sha: str | None = None
    dry_run: bool = False
    comment_id: int | None = None  # UpsertComment, Comment
    pull: PullInfo | None = None  # OpenPull


class Executor:
    def __init__(
        self,
        *,
        forge: Checks | None = None,
        workspace: Workspace | None = None,
        github: GitHubWrites | None = None,
        refusals: Refusals | None = None,
        dry_run: bool,
        redactor: Redactor | None = None,
        guard: Callable[[], None] = lambda: None,
        echo: Callable[[str], None] = lambda _line: None,
    ) -> None:
        """``guard`` runs before every write and raises to refuse it (a worker that lost its
        job's lease must not write)."""
        self._forge = forge
        self._workspace = workspace
        self._github = github
        self._refusals = refusals
        self._dry_run = dry_run
        self._redactor = redactor if redactor is not None else Redactor()
        self._guard = guard
        self._echo = echo
        self.log: list[Applied] = []

    def begin(self, what: str, work: Callable[[], _T]) -> _T | None:
        """Do ``work`` (whose writes all come back here), or in a dry run say ``would what``."""
        if self._dry_run:
            self._echo(f"would {what}")
            return None
        return work()

    @contextmanager
    def on(self, workspace: Workspace) -> Iterator[None]:
        """Commits and pushes go to ``workspace`` inside the block."""
        before, self._workspace = self._workspace, workspace
        try:
            yield
        finally:
            self._workspace = before

    def apply(self, action: Action) -> Applied:
        action = redacted(action, self._redactor)
        if self._dry_run:
            self._echo(f"would {describe(action)}")
            applied = Applied(action, dry_run=True)
        else:
            self._guard()
            applied = self._write(action)
        self.log.append(applied)
        return applied

    def _write(self, action: Action) -> Applied:
        if isinstance(action, Commit):
            return Applied(action, commit_sha=self._commit(action))
        if isinstance(action, Push):
            self._branch_workspace(action).push()
            return Applied(action)
        if isinstance(action, Say):
            if self._forge is not None:
                self._forge.say(action.text)
            return Applied(action)
        if isinstance(action, Refuse):
            if self._refusals is None:
                raise RuntimeError("a refusal needs a task store")
            r = action
            self._refusals.refuse(Refusal(r.repo, r.number, r.sender, r.event, r.reason))
            return Applied(action)
        return self._github_write(action)

    def _commit(self, action: Commit) -> str:
        if self._workspace is None:
            raise RuntimeError("a commit needs a workspace")
        self._workspace.apply(action.edits)
        try:
            return self._workspace.commit(action.message, action.trailers)
        except Exception:
            self._workspace.discard()
            raise

    def _branch_workspace(self, action: Push) -> BranchWorkspace:
        ws = self._workspace
        if not isinstance(ws, BranchWorkspace) or ws.branch != action.branch:
            raise RuntimeError(f"no workspace on {action.branch} to push")
        return ws

    def _github_write(self, action: Action) -> Applied:
        gh = self._github
        if gh is None:
            raise RuntimeError(f"{type(action).__name__} needs a GitHub forge")
        if isinstance(action, UpsertComment):
            comment_id = gh.upsert_comment(action.repo, action.number, action.marker, action.body)
            return Applied(action, comment_id=comment_id)
        if isinstance(action, Comment):
            comment_id = gh.create_comment(action.repo, action.number, action.body)
            return Applied(action, comment_id=comment_id)
        if isinstance(action, AddLabels):
            gh.add_labels(action.repo, action.number, list(action.labels))
        elif isinstance(action, RemoveLabel):
            gh.remove_label(action.repo, action.number, action.label)
        elif isinstance(action, OpenPull):
            pull = gh.create_pull(action.repo, action.head, action.base, action.title, action.body)
            return Applied(action, pull=pull)
        elif isinstance(action, UpsertIssue):
            gh.upsert_issue(action.repo, action.title, action.marker, action.body)
        elif isinstance(action, EditBody):
            gh.edit_body(action.repo, action.number, action.body)
        elif isinstance(action, PostReview):
            comments = [InlineComment(c.path, c.line, c.body, c.side) for c in action.comments]
            gh.create_review(action.repo, action.number, action.commit_id, action.body, comments)
        else:
            raise TypeError(f"unknown action {action!r}")
        return Applied(action)


def describe(action: Action) -> str:
    """An action in one line for a dry run's output (bodies and file contents left out)."""
    fields = {k: v for k, v in vars(action).items() if k not in ("body", "edits")}
    return f"{type(action).__name__} {fields}"


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
    if isinstance(action, Refuse):
        return replace(action, reason=text(action.reason))
    if isinstance(action, UpsertComment | Comment | EditBody):
        return replace(action, body=text(action.body))
    if isinstance(action, UpsertIssue):
        return replace(action, title=text(action.title), body=text(action.body))
    if isinstance(action, OpenPull):
        return replace(action, title=text(action.title), body=text(action.body))
    if isinstance(action, PostReview):
        comments = tuple(replace(c, body=text(c.body)) for c in action.comments)
        return replace(action, body=text(action.body), comments=comments)
    return action
