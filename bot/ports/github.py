"""The GitHub port: what the service reads from and writes to GitHub, in the forge's own types.

``bot/adapters/github/rest.py: GitHubForge`` implements it over the REST API and git; the tests'
``FakeGitHub`` implements it from data. Every method returns these frozen dataclasses, never a
client library's objects, so no caller can trigger a hidden request by touching an attribute.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from bot.ports import Workspace


class GitHubError(Exception):
    """A GitHub request failed for good: ``status`` (None: no HTTP answer) and what GitHub said.

    The message names the operation and never contains a credential.
    """

    def __init__(
        self,
        operation: str,
        status: int | None,
        message: str,
        *,
        retry_after: float | None = None,
    ) -> None:
        answer = f"GitHub answered {status}" if status is not None else "no answer from GitHub"
        super().__init__(f"{operation}: {answer}: {message}")
        self.operation = operation
        self.status = status
        self.detail = message
        self.retry_after = retry_after


class GitHubRateLimited(GitHubError):
    """Rate limited for longer than the policy will wait; try again after ``retry_after`` s."""


@dataclass(frozen=True)
class IssueInfo:
    number: int
    title: str
    body: str
    state: str
    author: str
    labels: tuple[str, ...]
    is_pull: bool
    url: str


@dataclass(frozen=True)
class CommentInfo:
    id: int
    author: str
    author_type: str  # "User" | "Bot" | "Organization"
    body: str
    app_id: int | None  # the App that posted it (``performed_via_github_app``), if any


@dataclass(frozen=True)
class PullInfo:
    number: int
    title: str
    body: str
    state: str
    head_ref: str
    head_sha: str
    base_ref: str
    author: str
    url: str
    draft: bool


@dataclass(frozen=True)
class PullFile:
    path: str
    status: str  # added | removed | modified | renamed | copied | changed | unchanged
    additions: int
    deletions: int
    patch: str | None  # None for binary or very large files
    previous_path: str | None


@dataclass(frozen=True)
class InlineComment:
    """One inline review comment: ``line`` (and ``start_line`` for a range) on ``side``."""

    path: str
    line: int
    body: str
    side: str = "RIGHT"
    start_line: int | None = None

    def payload(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "path": self.path,
            "line": self.line,
            "side": self.side,
            "body": self.body,
        }
        if self.start_line is not None and self.start_line != self.line:
            out["start_line"] = self.start_line
            out["start_side"] = self.side
        return out


@dataclass(frozen=True)
class CheckRunInfo:
    id: int
    name: str
    status: str
    conclusion: str | None
    head_sha: str
    url: str


@dataclass(frozen=True)
class WorkflowRunInfo:
    id: int
    name: str
    status: str
    conclusion: str | None
    head_sha: str
    head_branch: str
    event: str
    url: str


@dataclass(frozen=True)
class JobInfo:
    id: int
    run_id: int
    name: str
    status: str
    conclusion: str | None
    head_sha: str
    url: str


@runtime_checkable
class BranchWorkspace(Workspace, Protocol):
    """A clone checked out on one ``tierbot/*`` branch, whose commits count once pushed."""

    def head_sha(self) -> str: ...

    def push(self) -> None:
        """Push the branch if it holds commits the remote does not; ``PushFailed`` if refused."""
        ...


class GitHubReads(Protocol):
    """What the service reads from GitHub (and the clone it works in)."""

    def permission(self, repo: str, user: str) -> str: ...
    def file_text(self, repo: str, path: str, ref: str) -> str | None: ...
    def issue(self, repo: str, number: int) -> IssueInfo: ...
    def comments(self, repo: str, number: int) -> list[CommentInfo]: ...
    def find_pull(self, repo: str, head_branch: str) -> PullInfo | None: ...
    def pull(self, repo: str, number: int) -> PullInfo: ...
    def pull_files(self, repo: str, number: int) -> list[PullFile]: ...
    def pull_diff(self, repo: str, number: int) -> str: ...
    def workflow_runs(
        self, repo: str, *, branch: str | None = None, head_sha: str | None = None
    ) -> list[WorkflowRunInfo]: ...
    def jobs(self, repo: str, run_id: int) -> list[JobInfo]: ...
    def job_log(self, repo: str, job_id: int) -> str: ...
    def clone(self, repo: str, dest: Path) -> Path: ...
    def checkout(self, repo: str, dest: Path, *, branch: str, base: str) -> BranchWorkspace:
        """Clone ``repo`` into ``dest`` on ``branch``: continued if it exists, else from
        ``base``."""
        ...


class GitHubWrites(Protocol):
    """What the executor writes to GitHub; nothing else calls these."""

    def upsert_comment(self, repo: str, number: int, marker: str, body: str) -> int: ...
    def upsert_issue(self, repo: str, title: str, marker: str, body: str) -> int: ...
    def edit_body(self, repo: str, number: int, body: str) -> None: ...
    def create_comment(self, repo: str, number: int, body: str) -> int: ...
    def add_labels(self, repo: str, number: int, labels: Sequence[str]) -> None: ...
    def remove_label(self, repo: str, number: int, label: str) -> None: ...
    def create_pull(self, repo: str, head: str, base: str, title: str, body: str) -> PullInfo: ...
    def create_review(
        self, repo: str, number: int, commit_id: str, body: str, comments: Sequence[InlineComment]
    ) -> int: ...


class GitHubPort(GitHubReads, GitHubWrites, Protocol):
    """One App installation's view of GitHub."""
