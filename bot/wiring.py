"""The edge of the server side: build adapters from Settings for the intake, workers and replay."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from bot.events import Event
from bot.handlers.context import Context
from bot.lease import Guard, Guarded, unguarded
from bot.ports import Ledger, Models
from bot.settings import Settings

# What a worker must hold its lease for: money that will be spent, and rows another worker
# resuming the job would rely on. Recording a call already made is never refused.
GUARDED_LEDGER = (
    "start_task",
    "start_attempt",
    "record_check",
    "finish_attempt",
    "finish_task",
    "interrupt_unfinished",
)
GUARDED_STORE = ("save", "refuse")


class OfflineGitHub:
    """Reads for ``tierbot replay --dry-run`` without App credentials; states its assumptions."""

    def __init__(self, echo: Callable[[str], None]) -> None:
        self._echo = echo

    def permission(self, repo: str, user: str) -> str:
        self._echo(f"assuming {user} has write access to {repo} (no GitHub credentials)")
        return "write"

    def file_text(self, repo: str, path: str, ref: str) -> str | None:
        self._echo(f"assuming {repo} has no {path} (no GitHub credentials)")
        return None

    def find_pull(self, repo: str, head_branch: str) -> Any:
        return None

    def clone(self, repo: str, dest: Path) -> Path:
        raise RuntimeError("an offline dry run never clones")

    def push(self, workdir: Path, branch: str) -> None:
        raise RuntimeError("an offline dry run never pushes")

    def jobs(self, repo: str, run_id: int) -> list[Any]:
        return []

    def job_log(self, repo: str, job_id: int) -> str:
        return ""

    def workflow_runs(self, repo: str, *, branch: str) -> list[Any]:
        return []


def context_factory(
    settings: Settings,
    ledger: Any,
    *,
    dry_run: bool = False,
    offline: bool = False,
    echo: Callable[[str], None] = lambda _line: None,
) -> Callable[[Event], Context]:
    """One Context per event; GitHub clients are cached per installation."""
    from bot.adapters.github_tasks import IssueTaskStore
    from bot.adapters.llm import LiteLLMModels
    from bot.adapters.prices import load_price_table

    store = IssueTaskStore(ledger)
    models = LiteLLMModels(env=settings.env)
    prices = load_price_table()
    forges: dict[int, Any] = {}
    app: Any = None

    def make(event: Event, *, guard: Guard = unguarded) -> Context:
        nonlocal app
        github: Any
        if offline:
            github = OfflineGitHub(echo)
        else:
            from bot.adapters.github import GitHubForge
            from bot.adapters.github_auth import GitHubApp
            from bot.worker import PermanentError

            if event.installation_id is None:
                raise PermanentError(f"{event.kind} carries no installation id")
            if app is None:
                app = GitHubApp.from_env(settings.env)
            github = forges.get(event.installation_id)
            if github is None:
                pacing: dict[str, Any] = (
                    {}
                    if settings.github_pacing
                    else {"pace_requests_s": None, "pace_writes_s": None}
                )
                github = forges[event.installation_id] = GitHubForge(
                    app, event.installation_id, **pacing
                )
        return Context(
            github=github,
            store=Guarded(store, guard, GUARDED_STORE),
            ledger=cast(Ledger, Guarded(ledger, guard, GUARDED_LEDGER)),
            models=cast(Models, Guarded(models, guard, ("complete",))),
            prices=prices,
            workdir=settings.workdir,
            dry_run=dry_run,
            echo=echo,
            guard=guard,
        )

    return make
