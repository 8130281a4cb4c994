"""What a handler receives: the forge, the stores, the engine's parts and the one executor."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from bot import REPO_CONFIG_PATH
from bot.access import DEFAULT_ACCESS, ModelAccess
from bot.actions import GitHubAction
from bot.config import ConfigError, Price, RepoConfig, load_config
from bot.core.logs import Redactor
from bot.core.types import CheckResult
from bot.events import Event
from bot.lease import Guard, unguarded
from bot.ports import Ledger, Models

WRITE_ROLES = frozenset({"admin", "maintain", "write"})
DONE_LABEL = "tierbot:done"
NEEDS_HUMAN_LABEL = "tierbot:needs-human"


class GitHubPort(Protocol):
    """The part of ``bot.adapters.github.GitHubForge`` the handlers use."""

    def permission(self, repo: str, user: str) -> str: ...
    def file_text(self, repo: str, path: str, ref: str) -> str | None: ...
    def clone(self, repo: str, dest: Path) -> Path: ...
    def push(self, workdir: Path, branch: str) -> None: ...
    def find_pull(self, repo: str, head_branch: str) -> Any: ...
    def jobs(self, repo: str, run_id: int) -> list[Any]: ...
    def job_log(self, repo: str, job_id: int) -> str: ...
    def workflow_runs(self, repo: str, *, branch: str) -> list[Any]: ...


class RemoteChecks:
    """The engine's Forge on GitHub: CI runs after the push, so there is no result now."""

    def run_check(self, workspace: object, check: object) -> CheckResult | None:
        return None

    def say(self, text: str) -> None:
        return None


@dataclass
class Context:
    github: GitHubPort
    store: Any  # IssueTaskStore
    ledger: Ledger
    models: Models
    prices: Mapping[str, Price]
    workdir: Path
    bot_logins: frozenset[str] = frozenset()
    dry_run: bool = False
    echo: Callable[[str], None] = lambda _line: None
    planned: list[object] = field(default_factory=list)
    # The operator's allowlist for repository configs, and the process's redactor: both built
    # once at the edge from Settings (bot/wiring.py).
    access: ModelAccess = DEFAULT_ACCESS
    redactor: Redactor = field(default_factory=Redactor)
    # Raises when the worker no longer holds the job's lease: checked before every write.
    guard: Guard = unguarded

    # -- writes: all through here, so --dry-run can print them instead ----------------
    def act(self, action: GitHubAction) -> Any:
        from bot.executor import Executor

        if self.dry_run:
            self.planned.append(action)
            self.echo(f"would {describe(action)}")
        applied = Executor(
            github=self.github, dry_run=self.dry_run, redactor=self.redactor, guard=self.guard
        ).apply(action)
        return applied.result

    # -- reads and gates ---------------------------------------------------------------
    def sender_may_act(self, event: Event) -> str | None:
        """None when the sender may trigger work, else the reason for refusing."""
        if event.sender is None:
            return "the event has no sender"
        if event.sender.is_bot or event.sender.login in self.bot_logins:
            return f"{event.sender.login} is a bot"
        assert event.repo is not None
        role = self.github.permission(event.repo.full_name, event.sender.login)
        if role not in WRITE_ROLES:
            return f"{event.sender.login} has {role} access; write, maintain or admin is needed"
        return None

    def repo_config(self, event: Event) -> RepoConfig | ConfigError:
        assert event.repo is not None
        text = self.github.file_text(
            event.repo.full_name, REPO_CONFIG_PATH, event.repo.default_branch
        )
        try:
            return load_config(text, file=REPO_CONFIG_PATH, access=self.access)
        except ConfigError as exc:
            return exc

    def fresh_dir(self, repo: str, issue: int) -> Path:
        path = self.workdir / repo.replace("/", "__") / f"issue-{issue}"
        if path.exists():
            shutil.rmtree(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path


def describe(action: object) -> str:
    name = type(action).__name__
    fields = {k: v for k, v in vars(action).items() if k != "body"}
    return f"{name} {fields}"
