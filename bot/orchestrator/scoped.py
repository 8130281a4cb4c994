"""What one subtask of a plan sees: its own files to write, its trailer, and a check run later."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from bot.config import CheckSpec
from bot.core.orchestration import foreign_paths
from bot.core.plan import Plan
from bot.core.types import CheckResult, EditSet
from bot.ports import Checks, PathRefused, Workspace
from bot.ports.github import BranchWorkspace

SUBTASK_TRAILER = "Tierbot-Subtask"


class SubtaskWorkspace:
    """The plan's branch as one subtask may write it.

    An edit of a file another subtask owns is refused like a path outside policy, so the tier
    is told and retries; every commit carries ``Tierbot-Subtask: <id>``, which is how a
    restarted run finds the subtasks already committed.
    """

    def __init__(self, inner: Workspace, plan: Plan, subtask_id: str) -> None:
        self._inner = inner
        self._plan = plan
        self._id = subtask_id

    @property
    def root(self) -> Path:
        return self._inner.root

    @property
    def branch(self) -> str:
        return self._inner.branch

    def list_files(self) -> list[str]:
        return self._inner.list_files()

    def read(self, path: str) -> str | None:
        return self._inner.read(path)

    def apply(self, edits: EditSet) -> None:
        foreign = foreign_paths(self._plan, self._id, edits.paths)
        if foreign:
            raise PathRefused("; ".join(foreign))
        self._inner.apply(edits)

    def commit(self, message: str, trailers: Mapping[str, str]) -> str:
        return self._inner.commit(message, {**trailers, SUBTASK_TRAILER: self._id})

    def discard(self) -> None:
        self._inner.discard()

    def head_sha(self) -> str:
        return self._branch_workspace().head_sha()

    def push(self) -> None:
        """Publish the plan's branch, when it is a clone that pushes (GitHub)."""
        self._branch_workspace().push()

    def _branch_workspace(self) -> BranchWorkspace:
        if not isinstance(self._inner, BranchWorkspace):
            raise TypeError(f"the plan's workspace on {self.branch} does not push")
        return self._inner


class CheckLater:
    """The forge a subtask's ladder sees: its commit is checked with the whole plan, later.

    Returning None is what a forge whose CI runs elsewhere does, so each subtask's engine
    task waits for the check of the assembled branch exactly as a GitHub task waits for CI.
    """

    def __init__(self, inner: Checks) -> None:
        self._inner = inner
        self.pushes = inner.pushes  # each subtask's commit is published as the plan's is

    def run_check(self, workspace: Workspace, check: CheckSpec) -> CheckResult | None:
        return None

    def say(self, text: str) -> None:
        self._inner.say(text)
