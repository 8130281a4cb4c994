"""``tierbot run`` for a feature issue, or an issue with no type: triage, plan, dry run, run."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from bot.config import RepoConfig
from bot.core.plan_table import render_plan_table
from bot.core.triage_words import FEATURE
from bot.core.types import Status, Task
from bot.orchestrator import preview, saved
from bot.orchestrator.service import Orchestrator
from bot.orchestrator.state import FeatureResult, FeatureRun
from bot.orchestrator.triage import Decision, decide

EXIT_CODES = {Status.DONE: 0, Status.BUDGET_STOP: 3}  # anything else: 1, a human is needed


@dataclass(frozen=True)
class Local:
    """What the command line built: the repository, its config, settings and redactor."""

    repo: Any  # bot.adapters.git.LocalRepo
    config: RepoConfig
    settings: Any  # bot.settings.Settings
    redactor: Any  # bot.core.logs.Redactor

    def echo(self, line: str) -> None:
        click.echo(f"tierbot: {self.redactor(line)}", err=True)

    def orchestrator(self, progress: Callable[[str], None] | None = None) -> Orchestrator:
        from bot.adapters.ledger import SqlLedger
        from bot.adapters.llm import LiteLLMModels
        from bot.adapters.localforge import LocalForge
        from bot.adapters.prices import load_price_table
        from bot.executor import Executor

        echo = progress or self.echo
        forge = LocalForge(env=self.settings.env, echo=echo, redact=self.redactor)
        return Orchestrator(
            config=self.config,
            models=LiteLLMModels(env=self.settings.model_keys(), redact=self.redactor.tokens),
            ledger=SqlLedger(self.settings.ledger_url(self.repo.git_dir), redactor=self.redactor),
            forge=forge,
            prices=load_price_table(),
            repo=str(self.repo.root),
            # The run's one writer; each subtask's commits go to its view of the worktree.
            executor=Executor(forge=forge, dry_run=False, redactor=self.redactor),
            progress=echo,
        )


def choose_type(local: Local, text: str, *, dry_run: bool) -> Decision:
    """``--type`` omitted: the words decide for free, else one call to the cheapest tier."""
    orchestrator = None if dry_run else local.orchestrator()
    decision = decide(text, local.config, orchestrator, repo=str(local.repo.root))
    local.echo(f"triage: {decision.type} ({decision.source}: {decision.reason})")
    return decision


def run_feature(
    local: Local,
    task: Task,
    *,
    plan_only: bool,
    dry_run: bool,
    as_json: bool,
    base: str = "HEAD",
    fresh: bool = False,
) -> int:
    """Plan and run a feature issue on a new ``tierbot/<slug>`` branch, or go on with the run
    of the same issue that was stopped midway (``fresh``: start over); the exit code."""
    from bot.adapters.git import CheckoutView

    if dry_run:
        return preview.dry_run(local, task, CheckoutView(local.repo), as_json)
    if plan_only:
        return preview.plan_only(local, task, CheckoutView(local.repo), as_json)
    repo = local.repo
    path = saved.saved_path(repo.git_dir, task)
    stopped = _stopped_run(local, path, task, fresh=fresh)
    if stopped is None:
        saved.forget(path)
        start = repo.resolve(base)
        branch = repo.unique_branch(task.slug)
        local.echo(f"feature on branch {branch} (worktree; your checkout is not touched)")
        workspace = repo.add_worktree(branch, base=start)
    else:
        branch, start = stopped.branch, stopped.base
        workspace = repo.add_worktree(branch, existing=True)
    orchestrator = local.orchestrator()

    def checkpoint(feature: FeatureRun) -> None:
        saved.save(path, task, branch, start, feature)

    try:
        if stopped is None:
            result = orchestrator.run(task, workspace, checkpoint=checkpoint)
        else:
            result = orchestrator.resume(stopped.feature, workspace, checkpoint)
    except KeyboardInterrupt:
        local.echo("interrupted: run the same command again to go on where it stopped")
        raise
    finally:
        repo.remove_worktree(workspace)
    if result.status is not Status.RUNNING:
        saved.forget(path)
    if result.branch is None and stopped is None:
        repo.delete_branch(branch)
    _print_result(local, result, as_json)
    return EXIT_CODES.get(result.status, 1)


def _stopped_run(local: Local, path: Path, task: Task, *, fresh: bool) -> saved.SavedRun | None:
    """The stopped run of this issue to go on with, or None (and why not, when there is one).
    A run of the same issue still in progress is an error: two runs would share its branch."""
    found = saved.load(path, task)
    if found is None:
        return None
    if isinstance(found, str):
        local.echo(f"an earlier run of this issue stopped midway, but {found}: starting over")
        return None
    if found.running():
        raise click.ClickException(
            f"another tierbot run of this issue is in progress (pid {found.pid}, branch "
            f"{found.branch}); wait for it to end or stop it first"
        )
    local.repo.drop_worktree(found.branch)  # what the stopped run left checked out
    if fresh:
        local.echo(f"--fresh: starting over; {found.branch} is replaced")
        return None
    if not local.repo.only_bot_commits(found.branch, found.base):
        local.echo(
            f"an earlier run of this issue stopped midway, but {found.branch} is gone or has "
            "commits of someone else's: starting over"
        )
        return None
    done = sum(1 for s in found.feature.run.subtasks if s.commit)
    total = len(found.feature.run.subtasks)
    local.echo(
        f"going on with the stopped run on {found.branch}: {done} of {total} subtasks "
        "committed, the plan is not asked for again (--fresh starts over)"
    )
    return found


def _print_result(local: Local, result: FeatureResult, as_json: bool) -> None:
    if as_json:
        click.echo(local.redactor.tokens(json.dumps(result.to_json(), indent=2)))
        return
    for note in result.notes:
        click.echo(local.redactor(f"note: {note}"))
    if result.run is not None:
        click.echo(local.redactor(render_plan_table(result.run)))
    elif result.fallback is not None:
        click.echo(local.redactor(result.fallback.status_line()))
    click.echo(local.redactor(result.status_line()))


__all__ = ["FEATURE", "Local", "choose_type", "run_feature"]
