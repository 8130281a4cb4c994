"""The edge of the server side: build adapters from Settings for the intake, workers and replay."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, cast

from bot.core.logs import Redactor
from bot.events import Event
from bot.executor import Executor
from bot.lease import Guard, Guarded, unguarded
from bot.ports import Ledger, Models
from bot.ports.github import (
    BranchWorkspace,
    CommentInfo,
    GitHubPort,
    InlineComment,
    IssueInfo,
    JobInfo,
    PullFile,
    PullInfo,
    WorkflowRunInfo,
)
from bot.ports.tasks import TaskStore
from bot.service.context import Context
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
    """Reads for ``tierbot replay --dry-run`` without App credentials; states its assumptions.

    A dry run's executor writes nothing, and the service starts no work in a dry run, so the
    reads past the gates (pull requests, issues, clones) are never asked for.
    """

    def __init__(self, echo: Callable[[str], None]) -> None:
        self._echo = echo

    def permission(self, repo: str, user: str) -> str:
        self._echo(f"assuming {user} has write access to {repo} (no GitHub credentials)")
        return "write"

    def file_text(self, repo: str, path: str, ref: str) -> str | None:
        self._echo(f"assuming {repo} has no {path} (no GitHub credentials)")
        return None

    def find_pull(self, repo: str, head_branch: str) -> PullInfo | None:
        return None

    def comments(self, repo: str, number: int) -> list[CommentInfo]:
        return []

    def workflow_runs(
        self, repo: str, *, branch: str | None = None, head_sha: str | None = None
    ) -> list[WorkflowRunInfo]:
        return []

    def jobs(self, repo: str, run_id: int) -> list[JobInfo]:
        return []

    def job_log(self, repo: str, job_id: int) -> str:
        return ""

    def pull_files(self, repo: str, number: int) -> list[PullFile]:
        return []

    def issue(self, repo: str, number: int) -> IssueInfo:
        raise RuntimeError(f"an offline dry run cannot read {repo}#{number}")

    def pull(self, repo: str, number: int) -> PullInfo:
        raise RuntimeError(f"an offline dry run cannot read {repo}#{number}")

    def pull_diff(self, repo: str, number: int) -> str:
        raise RuntimeError(f"an offline dry run cannot read {repo}#{number}")

    def clone(self, repo: str, dest: Path) -> Path:
        raise RuntimeError("an offline dry run never clones")

    def checkout(self, repo: str, dest: Path, *, branch: str, base: str) -> BranchWorkspace:
        raise RuntimeError("an offline dry run never clones")

    # Writes: the dry run's executor records them instead, so these are never called.
    def upsert_comment(self, repo: str, number: int, marker: str, body: str) -> int:
        raise RuntimeError("an offline dry run never writes")

    def create_comment(self, repo: str, number: int, body: str) -> int:
        raise RuntimeError("an offline dry run never writes")

    def upsert_issue(self, repo: str, title: str, marker: str, body: str) -> int:
        raise RuntimeError("an offline dry run never writes")

    def edit_body(self, repo: str, number: int, body: str) -> None:
        raise RuntimeError("an offline dry run never writes")

    def add_labels(self, repo: str, number: int, labels: Sequence[str]) -> None:
        raise RuntimeError("an offline dry run never writes")

    def remove_label(self, repo: str, number: int, label: str) -> None:
        raise RuntimeError("an offline dry run never writes")

    def create_pull(self, repo: str, head: str, base: str, title: str, body: str) -> PullInfo:
        raise RuntimeError("an offline dry run never writes")

    def create_review(
        self, repo: str, number: int, commit_id: str, body: str, comments: Sequence[InlineComment]
    ) -> int:
        raise RuntimeError("an offline dry run never writes")


class _Forges:
    """One GitHub App per process, one forge per installation, made on first use."""

    def __init__(self, settings: Settings, redactor: Redactor) -> None:
        self._settings = settings
        self._redactor = redactor
        self._app: Any = None
        self._forges: dict[int, GitHubPort] = {}

    def for_event(self, event: Event) -> GitHubPort:
        from bot.adapters.github import GitHubForge
        from bot.adapters.github.auth import GitHubApp
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
    from bot.adapters.git import CliGit
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
        github: GitHubPort = OfflineGitHub(echo) if offline else forges.for_event(event)
        guarded_store = cast(TaskStore, Guarded(store, guard, GUARDED_STORE))
        # The job's one executor: every write of every handler this event reaches.
        executor = Executor(
            github=github,
            refusals=guarded_store,
            dry_run=dry_run,
            redactor=redact,
            guard=guard,
            echo=echo,
        )
        return Context(
            github=github,
            store=guarded_store,
            ledger=cast(Ledger, Guarded(ledger, guard, GUARDED_LEDGER)),
            models=cast(Models, Guarded(models, guard, ("complete",))),
            prices=prices,
            workdir=settings.workdir,
            executor=executor,
            git=CliGit(),
            echo=echo,
            access=settings.model_access,
            redactor=redact,
        )

    return make
