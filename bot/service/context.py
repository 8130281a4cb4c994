"""What the task service works with for one job: the ports, the one executor and the gates."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bot.access import DEFAULT_ACCESS, ModelAccess
from bot.config import REPO_CONFIG_PATH, ConfigError, Price, RepoConfig
from bot.config_extends import load_extended
from bot.core.logs import Redactor
from bot.core.types import CheckResult
from bot.events import Event
from bot.executor import Executor
from bot.ports import Checks, Ledger, Models
from bot.ports.git import LocalGit
from bot.ports.github import GitHubPort
from bot.ports.tasks import TaskStore

WRITE_ROLES = frozenset({"admin", "maintain", "write"})
DONE_LABEL = "tierbot:done"
NEEDS_HUMAN_LABEL = "tierbot:needs-human"
NOTHING_TO_DO_LABEL = "tierbot:nothing-to-do"


class RemoteChecks:
    """The engine's ``Checks`` on GitHub: CI runs after the push, so there is no result now."""

    pushes = True

    def run_check(self, workspace: object, check: object) -> CheckResult | None:
        return None

    def say(self, text: str) -> None:
        return None


@dataclass
class Context:
    github: GitHubPort
    store: TaskStore
    ledger: Ledger
    models: Models
    prices: Mapping[str, Price]
    workdir: Path
    # The job's one writer: every GitHub write, commit, push and refusal goes through it, and
    # it alone knows whether this is a dry run.
    executor: Executor
    git: LocalGit
    bot_logins: frozenset[str] = frozenset()
    echo: Callable[[str], None] = lambda _line: None
    # The operator's allowlist for repository configs, and the process's redactor: both built
    # once at the edge from Settings (bot/wiring.py).
    access: ModelAccess = DEFAULT_ACCESS
    redactor: Redactor = field(default_factory=Redactor)
    # The engine's check: CI on GitHub; an Action holding the default GITHUB_TOKEN (whose
    # pushes start no CI) runs the check command itself (bot/action/).
    checks: Checks = field(default_factory=RemoteChecks)
    config_path: str = REPO_CONFIG_PATH

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
        repo = event.repo
        try:
            return load_extended(
                self.github.file_text,
                repo.full_name,
                repo.default_branch,
                self.config_path,
                access=self.access,
            )
        except ConfigError as exc:
            return exc

    def scratch_dir(self, repo: str, name: str) -> Path:
        """An empty directory for a clone, under the worker's workdir."""
        path = self.workdir / repo.replace("/", "__") / name
        if path.exists():
            shutil.rmtree(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path
