"""The edge of the server side: build adapters from Settings for the intake, workers and replay."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from bot.core.logs import Redactor
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


class _Forges:
    """One GitHub App per process, one forge per installation, made on first use."""

    def __init__(self, settings: Settings, redactor: Redactor) -> None:
        self._settings = settings
        self._redactor = redactor
        self._app: Any = None
        self._forges: dict[int, Any] = {}

    def for_event(self, event: Event) -> Any:
        from bot.adapters.github import GitHubForge
        from bot.adapters.github_auth import GitHubApp
        from bot.worker import PermanentError

        if event.installation_id is None:
            raise PermanentError(f"{event.kind} carries no installation id")
        if self._app is None:
            self._app = GitHubApp.from_env(self._settings.env, redactor=self._redactor)
        forge = self._forges.get(event.installation_id)
        if forge is None:
            pacing: dict[str, Any] = (
                {}
                if self._settings.github_pacing
                else {"pace_requests_s": None, "pace_writes_s": None}
            )
            forge = self._forges[event.installation_id] = GitHubForge(
                self._app, event.installation_id, **pacing
            )
        return forge


def context_factory(
    settings: Settings,
    ledger: Any,
    *,
    dry_run: bool = False,
    offline: bool = False,
    echo: Callable[[str], None] = lambda _line: None,
    redactor: Redactor | None = None,
) -> Callable[[Event], Context]:
    """One Context per event; GitHub clients are cached per installation.

    ``redactor`` is the process's one redactor (``Settings.redactor()`` when not given): the
    App adds its key and every installation token it mints to it, and the models, the
    executor and the handlers' log readers apply it.
    """
    from bot.adapters.github_tasks import IssueTaskStore
    from bot.adapters.llm import LiteLLMModels
    from bot.adapters.prices import load_price_table

    redact = redactor if redactor is not None else settings.redactor()
    store = IssueTaskStore(ledger)
    # The models see only the allowed key variables, never the rest of the environment.
    models = LiteLLMModels(env=settings.model_keys(), redact=redact.tokens)
    prices = load_price_table()
    forges = _Forges(settings, redact)

    def make(event: Event, *, guard: Guard = unguarded) -> Context:
        github = OfflineGitHub(echo) if offline else forges.for_event(event)
        return Context(
            github=github,
            store=Guarded(store, guard, GUARDED_STORE),
            ledger=cast(Ledger, Guarded(ledger, guard, GUARDED_LEDGER)),
            models=cast(Models, Guarded(models, guard, ("complete",))),
            prices=prices,
            workdir=settings.workdir,
            dry_run=dry_run,
            echo=echo,
            access=settings.model_access,
            redactor=redact,
            guard=guard,
        )

    return make
