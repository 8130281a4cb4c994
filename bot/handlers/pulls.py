"""What the pull request handlers share: forge reads, the trigger gate, their tier, error text."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any, Protocol, cast

from bot.adapters.github_tasks import Refusal
from bot.config import ConfigError, RepoConfig
from bot.core.context import strip_html_comments
from bot.core.logs import scrub
from bot.core.routing import type_for_label
from bot.events import Event
from bot.handlers.context import Context
from bot.handlers.tasks import report_config_error

log = logging.getLogger("tierbot.pulls")
MAX_DETAIL_CHARS = 600


class PullForge(Protocol):
    """The part of ``bot.adapters.github.GitHubForge`` the review and debug handlers read."""

    def pull(self, repo: str, number: int) -> Any: ...
    def pull_diff(self, repo: str, number: int) -> str: ...
    def pull_files(self, repo: str, number: int) -> list[Any]: ...
    def comments(self, repo: str, number: int) -> list[Any]: ...
    def issue(self, repo: str, number: int) -> Any: ...
    def clone(self, repo: str, dest: Path) -> Path: ...
    def push(self, workdir: Path, branch: str) -> Any: ...
    def workflow_runs(
        self, repo: str, *, branch: str | None = None, head_sha: str | None = None
    ) -> list[Any]: ...
    def jobs(self, repo: str, run_id: int) -> list[Any]: ...
    def job_log(self, repo: str, job_id: int) -> str: ...


def pull_forge(ctx: Context) -> PullForge:
    # Context.github is typed by what the task handlers use; the adapter has all of these.
    return cast(PullForge, ctx.github)


def may_act(event: Event, ctx: Context) -> bool:
    """The sender may trigger work; otherwise the refusal is recorded, never silently dropped."""
    refusal = ctx.sender_may_act(event)
    if refusal is None:
        return True
    assert event.repo is not None
    sender = event.sender.login if event.sender else "?"
    ctx.store.refuse(Refusal(event.repo.full_name, event.number, sender, event.kind, refusal))
    ctx.echo(f"refused {event.kind} on {event.repo.full_name}#{event.number}: {refusal}")
    log.info("refused %s on %s#%s: %s", event.kind, event.repo.full_name, event.number, refusal)
    return False


def labelled_for(event: Event, ctx: Context, task_type: str) -> RepoConfig | None:
    """The repo config when ``event`` adds ``task_type``'s label to a pull request by a writer.

    The label is the config's (``task_types.<type>.label``), so the config is read first; a
    broken config is reported on the PR only when the label looks like tierbot's own.
    """
    label = event.label or ""
    if not event.is_pull_request or event.repo is None or event.number is None or not label:
        return None
    config = ctx.repo_config(event)
    if isinstance(config, ConfigError):
        if label.startswith("tierbot:"):
            report_config_error(ctx, event.repo.full_name, event.number, config)
        return None
    if type_for_label(config, label) != task_type:
        return None
    return config if may_act(event, ctx) else None


def comment_tier(config: RepoConfig, task_type: str) -> str:
    """The tier a comment task runs at: its task type's start tier, else the top of the ladder.

    Reviews and diagnoses need a model: a template start tier gives way to the first model
    tier above it.
    """
    spec = config.task_types.get(task_type)
    start = spec.start if spec is not None else config.ladder[-1]
    above = config.ladder[config.ladder.index(start) :]
    return next((t for t in above if not config.tier(t).is_template), config.ladder[-1])


def scratch_dir(ctx: Context, repo: str, name: str) -> Path:
    """An empty directory for a clone, under the worker's workdir."""
    path = ctx.workdir / repo.replace("/", "__") / name
    if path.exists():
        shutil.rmtree(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def comment_detail(text: str) -> str:
    """Error text on its way into a comment: no secrets, no hidden markers, one bounded line."""
    flat = " ".join(strip_html_comments(scrub(text)).split())
    return flat[:MAX_DETAIL_CHARS] + ("..." if len(flat) > MAX_DETAIL_CHARS else "")
