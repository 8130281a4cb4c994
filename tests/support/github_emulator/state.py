"""The emulator's in-memory model of GitHub: users, the App, repositories and what hangs off them.

Git content is not here: each repository's commits live in a real bare repository on disk
(see ``gitrepo.py``); this module keeps what GitHub keeps in its database. One re-entrant lock
guards everything, because the HTTP server, the CI threads and the test thread all touch it.
"""

from __future__ import annotations

import base64
import itertools
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def iso(moment: datetime | None) -> str | None:
    """GitHub's timestamp form: ``2024-01-31T12:00:00Z``."""
    return None if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def node_id(kind: str, number: int) -> str:
    # GitHub's legacy global ids are base64 of "<len>:<Type><id>"; clients treat them as opaque.
    text = f"0{len(kind)}:{kind}{number}"
    return base64.b64encode(text.encode()).decode()


@dataclass
class User:
    login: str
    id: int
    type: str = "User"  # "User" | "Organization" | "Bot"
    site_admin: bool = False
    name: str | None = None
    email: str | None = None


@dataclass
class App:
    id: int
    slug: str
    name: str
    owner: User
    bot: User  # the "<slug>[bot]" account the App acts as
    private_key_pem: bytes
    public_key_pem: bytes
    client_id: str
    created_at: datetime
    permissions: dict[str, str] = field(default_factory=dict)
    events: list[str] = field(default_factory=list)


@dataclass
class ManifestCode:
    """A code GitHub's "Create GitHub App" page issued for a manifest, awaiting conversion."""

    code: str
    manifest: dict[str, Any]
    owner: User
    issued_at: datetime


@dataclass
class Installation:
    id: int
    account: User
    created_at: datetime
    suspended: bool = False


# The account a workflow's GITHUB_TOKEN acts as.
WORKFLOW_BOT = "github-actions[bot]"


@dataclass
class Token:
    value: str
    installation_id: int
    expires_at: datetime
    revoked: bool = False
    # A workflow's GITHUB_TOKEN: acts as github-actions[bot], and what it pushes or opens
    # starts no workflow (GitHub's guard against recursive runs).
    workflow: bool = False


@dataclass
class Label:
    id: int
    name: str
    color: str = "ededed"
    description: str = ""
    default: bool = False


@dataclass
class Comment:
    id: int
    issue_number: int
    body: str
    user: User
    created_at: datetime
    updated_at: datetime
    via_app: bool = False


@dataclass
class ReviewComment:
    id: int
    review_id: int
    path: str
    body: str
    user: User
    commit_id: str
    diff_hunk: str
    line: int | None
    side: str
    start_line: int | None
    start_side: str | None
    position: int | None
    created_at: datetime


@dataclass
class Review:
    id: int
    user: User
    body: str
    state: str  # APPROVED | CHANGES_REQUESTED | COMMENTED | PENDING
    commit_id: str
    submitted_at: datetime | None
    via_app: bool = False


@dataclass
class Pull:
    id: int
    head_ref: str
    base_ref: str
    head_sha: str
    base_sha: str
    draft: bool = False
    merged: bool = False
    merged_at: datetime | None = None
    merged_by: User | None = None
    merge_commit_sha: str | None = None
    maintainer_can_modify: bool = False
    reviews: list[Review] = field(default_factory=list)
    review_comments: list[ReviewComment] = field(default_factory=list)


@dataclass
class Issue:
    """An issue, or the issue side of a pull request (``pull`` set): they share numbers."""

    number: int
    id: int
    title: str
    body: str | None
    user: User
    created_at: datetime
    updated_at: datetime
    labels: list[Label] = field(default_factory=list)
    state: str = "open"
    closed_at: datetime | None = None
    comments: list[Comment] = field(default_factory=list)
    pull: Pull | None = None
    via_app: bool = False


@dataclass
class CheckRun:
    id: int
    suite_id: int
    name: str
    head_sha: str
    external_id: str
    status: str
    conclusion: str | None
    started_at: datetime
    completed_at: datetime | None
    title: str | None = None
    summary: str | None = None
    text: str | None = None


@dataclass
class CheckSuite:
    id: int
    head_branch: str | None
    head_sha: str
    before: str | None
    after: str | None
    status: str
    conclusion: str | None
    created_at: datetime
    updated_at: datetime
    pull_numbers: list[int] = field(default_factory=list)


@dataclass
class Step:
    name: str
    number: int
    status: str
    conclusion: str | None
    started_at: datetime
    completed_at: datetime | None


@dataclass
class Job:
    id: int
    run_id: int
    check_run_id: int
    name: str
    head_sha: str
    head_branch: str | None
    status: str
    conclusion: str | None
    created_at: datetime
    started_at: datetime
    completed_at: datetime | None
    log: str = ""
    steps: list[Step] = field(default_factory=list)


@dataclass
class WorkflowRun:
    id: int
    run_number: int
    workflow_id: int
    name: str
    path: str
    display_title: str
    event: str
    head_branch: str | None
    head_sha: str
    status: str
    conclusion: str | None
    check_suite_id: int
    actor: User
    created_at: datetime
    updated_at: datetime
    run_started_at: datetime
    pull_numbers: list[int] = field(default_factory=list)
    job_ids: list[int] = field(default_factory=list)
    log: str = ""


@dataclass
class Repo:
    id: int
    owner: User
    name: str
    path: Path  # the bare repository
    private: bool
    default_branch: str
    created_at: datetime
    pushed_at: datetime
    description: str | None = None
    issues: dict[int, Issue] = field(default_factory=dict)
    labels: dict[str, Label] = field(default_factory=dict)
    collaborators: dict[str, str] = field(default_factory=dict)  # login -> role name
    check_suites: dict[int, CheckSuite] = field(default_factory=dict)
    check_runs: dict[int, CheckRun] = field(default_factory=dict)
    workflow_runs: dict[int, WorkflowRun] = field(default_factory=dict)
    jobs: dict[int, Job] = field(default_factory=dict)
    workflow_id: int = 0

    @property
    def full_name(self) -> str:
        return f"{self.owner.login}/{self.name}"

    def next_number(self) -> int:
        return max(self.issues, default=0) + 1

    def open_pulls_for_branch(self, branch: str) -> list[Issue]:
        return [
            issue
            for issue in self.issues.values()
            if issue.pull is not None and issue.state == "open" and issue.pull.head_ref == branch
        ]


class Store:
    """Everything the emulator knows, behind one lock; ids come from one counter per kind."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.lock = threading.RLock()
        self.users: dict[str, User] = {}
        self.repos: dict[str, Repo] = {}  # "owner/name" (lower case) -> Repo
        self.installations: dict[int, Installation] = {}
        self.tokens: dict[str, Token] = {}
        self.app: App | None = None
        self.manifest_codes: dict[str, ManifestCode] = {}
        self._counters: dict[str, itertools.count[int]] = {}

    def new_id(self, kind: str) -> int:
        with self.lock:
            # Distinct, plausible-looking ranges per kind so an id mix-up shows in a test.
            start = {
                "user": 1000,
                "installation": 40_000,
                "label": 100_000,
                "repo": 500_000,
                "issue": 1_000_000,
                "pull": 2_000_000,
                "comment": 3_000_000,
                "review": 4_000_000,
                "review_comment": 5_000_000,
                "check_suite": 6_000_000,
                "check_run": 7_000_000,
                "workflow_run": 8_000_000,
                "workflow": 9_000_000,
            }
            counter = self._counters.setdefault(kind, itertools.count(start.get(kind, 90_000_000)))
            return next(counter)

    def user(self, login: str, *, type: str = "User") -> User:
        """The user called ``login``, created on first use."""
        with self.lock:
            found = self.users.get(login.lower())
            if found is None:
                found = User(login=login, id=self.new_id("user"), type=type)
                self.users[login.lower()] = found
            return found

    def find_user(self, login: str) -> User | None:
        with self.lock:
            return self.users.get(login.lower())

    def repo(self, owner: str, name: str) -> Repo | None:
        with self.lock:
            return self.repos.get(f"{owner}/{name}".lower())

    def installation_for(self, repo: Repo) -> Installation | None:
        with self.lock:
            for installation in self.installations.values():
                if installation.account.login.lower() == repo.owner.login.lower():
                    return installation
            return None
