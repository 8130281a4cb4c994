"""A small GitHub at the port: answers reads from data, records every write it is asked for.

In the spirit of bedevere's ``FakeGH``: a handler test builds the few facts a decision reads
(who has which role, the repo config, stored tasks) and asserts on ``writes``. No HTTP, no
clone; a test that needs a clone or a push uses the GitHub emulator instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.executor import Executor
from bot.ports.github import (
    BranchWorkspace,
    CommentInfo,
    InlineComment,
    IssueInfo,
    JobInfo,
    PullInfo,
    WorkflowRunInfo,
)
from bot.ports.tasks import IssueTask, Refusal
from bot.service.context import Context
from tests.support.fakes import FakeLedger, FakeModels


@dataclass
class FakeGitHub:
    roles: dict[str, str] = field(default_factory=dict)  # user -> role; unknown users: "read"
    files: dict[str, str] = field(default_factory=dict)  # path -> text on the default branch
    pulls: dict[int, PullInfo] = field(default_factory=dict)
    issues: dict[int, IssueInfo] = field(default_factory=dict)
    runs: list[WorkflowRunInfo] = field(default_factory=list)
    writes: list[tuple[Any, ...]] = field(default_factory=list)

    # -- reads ---------------------------------------------------------------------------
    def permission(self, repo: str, user: str) -> str:
        return self.roles.get(user, "read")

    def file_text(self, repo: str, path: str, ref: str) -> str | None:
        return self.files.get(path)

    def issue(self, repo: str, number: int) -> IssueInfo:
        return self.issues[number]

    def comments(self, repo: str, number: int) -> list[CommentInfo]:
        return []

    def find_pull(self, repo: str, head_branch: str) -> PullInfo | None:
        return next((p for p in self.pulls.values() if p.head_ref == head_branch), None)

    def pull(self, repo: str, number: int) -> PullInfo:
        return self.pulls[number]

    def pull_files(self, repo: str, number: int) -> list[Any]:
        return []

    def pull_diff(self, repo: str, number: int) -> str:
        return ""

    def workflow_runs(
        self, repo: str, *, branch: str | None = None, head_sha: str | None = None
    ) -> list[WorkflowRunInfo]:
        return [
            r
            for r in self.runs
            if (branch is None or r.head_branch == branch)
            and (head_sha is None or r.head_sha == head_sha)
        ]

    def jobs(self, repo: str, run_id: int) -> list[JobInfo]:
        return []

    def job_log(self, repo: str, job_id: int) -> str:
        return ""

    def clone(self, repo: str, dest: Path) -> Path:
        raise AssertionError("a gate test never clones; use the GitHub emulator")

    def checkout(self, repo: str, dest: Path, *, branch: str, base: str) -> BranchWorkspace:
        raise AssertionError("a gate test never clones; use the GitHub emulator")

    # -- writes: recorded ----------------------------------------------------------------
    def upsert_comment(self, repo: str, number: int, marker: str, body: str) -> int:
        self.writes.append(("upsert_comment", number, marker, body))
        return 1000 + len(self.writes)

    def create_comment(self, repo: str, number: int, body: str) -> int:
        self.writes.append(("create_comment", number, body))
        return 1000 + len(self.writes)

    def upsert_issue(self, repo: str, title: str, marker: str, body: str) -> int:
        self.writes.append(("upsert_issue", title, marker, body))
        return 2000 + len(self.writes)

    def edit_body(self, repo: str, number: int, body: str) -> None:
        self.writes.append(("edit_body", number, body))

    def add_labels(self, repo: str, number: int, labels: Sequence[str]) -> None:
        self.writes.append(("add_labels", number, tuple(labels)))

    def remove_label(self, repo: str, number: int, label: str) -> None:
        self.writes.append(("remove_label", number, label))

    def create_pull(self, repo: str, head: str, base: str, title: str, body: str) -> PullInfo:
        self.writes.append(("create_pull", head, base, title))
        number = 100 + len(self.pulls)
        pull = PullInfo(number, title, body, "open", head, "sha", base, "tierbot", "", False)
        self.pulls[number] = pull
        return pull

    def create_review(
        self, repo: str, number: int, commit_id: str, body: str, comments: Sequence[InlineComment]
    ) -> int:
        self.writes.append(("create_review", number, commit_id, len(comments)))
        return 1


@dataclass
class FakeStore:
    items: dict[tuple[str, int], IssueTask] = field(default_factory=dict)
    refused: list[Refusal] = field(default_factory=list)

    def get(self, repo: str, issue: int) -> IssueTask | None:
        return self.items.get((repo, issue))

    def save(self, item: IssueTask) -> None:
        self.items[(item.repo, item.issue)] = item

    def refuse(self, refusal: Refusal) -> None:
        self.refused.append(refusal)


class NoGit:
    def __getattr__(self, name: str) -> Callable[..., Any]:
        raise AssertionError(f"a gate test runs no git command ({name})")


def fake_context(
    gh: FakeGitHub, tmp_path: Path, *, dry_run: bool = False
) -> tuple[Context, FakeStore, FakeLedger, list[str]]:
    """A handler context over the fakes; returns it with its store, ledger and echoed lines."""
    store, ledger, lines = FakeStore(), FakeLedger(), []
    executor = Executor(github=gh, refusals=store, dry_run=dry_run, echo=lines.append)
    ctx = Context(
        github=gh,
        store=store,
        ledger=ledger,  # type: ignore[arg-type]  # the fake records only what gates reach
        models=FakeModels({}),
        prices={},
        workdir=tmp_path,
        executor=executor,
        git=NoGit(),  # type: ignore[arg-type]
        echo=lines.append,
    )
    return ctx, store, ledger, lines
