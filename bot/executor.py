"""The only writer: applies Actions through the ports, and does nothing under dry-run."""

from __future__ import annotations

from dataclasses import dataclass

from bot.actions import Action, Commit, Say
from bot.ports import Forge, Workspace


@dataclass(frozen=True)
class Applied:
    action: Action
    commit_sha: str | None = None
    dry_run: bool = False


class Executor:
    def __init__(self, *, forge: Forge, workspace: Workspace | None, dry_run: bool) -> None:
        self._forge = forge
        self._workspace = workspace
        self._dry_run = dry_run
        self.log: list[Applied] = []

    def apply(self, action: Action) -> Applied:
        if self._dry_run:
            applied = Applied(action, dry_run=True)
        elif isinstance(action, Commit):
            applied = Applied(action, commit_sha=self._commit(action))
        elif isinstance(action, Say):
            self._forge.say(action.text)
            applied = Applied(action)
        else:  # pragma: no cover - exhaustive over Action
            raise TypeError(f"unknown action {action!r}")
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
