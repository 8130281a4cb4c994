"""``tierbot run``: one task up the tier ladder on a local repository, or its plan (--dry-run)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from bot.cli.common import (
    EXIT_BUDGET_STOP,
    EXIT_DONE,
    EXIT_NEEDS_HUMAN,
    EXIT_NOTHING_TO_DO,
    fail,
    protect_logs,
    repo_option,
    settings_from_env,
)


@click.command()
@click.argument("text", required=False)
@click.option(
    "--issue-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Read the task text from a file (e.g. an issue body in Markdown).",
)
@click.option(
    "--type",
    "task_type",
    help="Task type (stub, tests, config, docs, feature, ...); triaged from the text when "
    "omitted. feature: a planner splits the issue into typed subtasks (docs/orchestrator.md).",
)
@repo_option()
@click.option("--base", default="HEAD", show_default=True, help="Commit to branch from.")
@click.option("--dry-run", is_flag=True, help="Plan and estimate cost; no model call, no commit.")
@click.option(
    "--plan-only", is_flag=True, help="feature: one planner call; print the plan, change nothing."
)
@click.option("--no-plan", is_flag=True, help="feature: one ladder for the issue, no planner.")
@click.option(
    "--fresh",
    is_flag=True,
    help="feature: start over instead of going on with a stopped run of the same issue.",
)
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable result.")
def run(
    text: str | None,
    issue_file: Path | None,
    task_type: str | None,
    repo_path: Path,
    base: str,
    dry_run: bool,
    plan_only: bool,
    no_plan: bool,
    fresh: bool,
    as_json: bool,
) -> None:
    """Take a task up the tier ladder on a new tierbot/<slug> branch of a local repository."""
    from bot.adapters.git import GitError, LocalRepo
    from bot.config import ConfigError, load_repo_config
    from bot.orchestrator import local as orchestrated

    task_text = _task_text(text, issue_file)
    settings = settings_from_env()
    redactor = settings.redactor()
    protect_logs(redactor)
    try:
        repo = LocalRepo.open(repo_path)
        repo.head_sha()
        repo.resolve(base)
        config = load_repo_config(repo.root, access=settings.model_access)
        here = orchestrated.Local(repo, config, settings, redactor)
        task = _make_task(here, config, task_text, task_type, dry_run=dry_run)
    except (GitError, ConfigError) as exc:
        fail(str(exc))
        return
    if task.type == orchestrated.FEATURE and not no_plan:
        raise SystemExit(
            orchestrated.run_feature(
                here,
                task,
                plan_only=plan_only,
                dry_run=dry_run,
                as_json=as_json,
                base=base,
                fresh=fresh,
            )
        )
    if plan_only:
        fail(f"--plan-only plans a feature issue; a {task.type} task has no plan (try --dry-run)")
    if dry_run:
        _dry_run(repo, config, settings, task, as_json)
        return
    result = _run(repo, config, settings, task, redactor, base)
    if as_json:
        click.echo(redactor.tokens(json.dumps(result.to_json(), indent=2)))
    else:
        click.echo(redactor(result.status_line()))
    raise SystemExit(_exit_code(result.status))


def _make_task(here: Any, config: Any, text: str, task_type: str | None, *, dry_run: bool) -> Any:
    """The task to run: its type as given, or triaged from the text (no call for an empty one)."""
    from bot.core.endings import empty_task
    from bot.core.routing import route
    from bot.engine import make_task
    from bot.orchestrator import local as orchestrated

    if task_type is not None:
        route(config, task_type)
    if task_type is None and empty_task(text) is not None:
        # Nothing to triage: the run ends before any tier, and the type only names the
        # ledger row, so no call is spent deciding it.
        task_type = next(n for n, t in config.task_types.items() if t.output == "commit")
    name = task_type or orchestrated.choose_type(here, text, dry_run=dry_run).type
    task = make_task(text, name)
    route(config, task.type)
    return task


def _exit_code(status: Any) -> int:
    from bot.core.types import Status

    return {
        Status.DONE: EXIT_DONE,
        Status.BUDGET_STOP: EXIT_BUDGET_STOP,
        Status.NOTHING_TO_DO: EXIT_NOTHING_TO_DO,
    }.get(status, EXIT_NEEDS_HUMAN)


def _task_text(text: str | None, issue_file: Path | None) -> str:
    if text and issue_file:
        fail("give the task as TEXT or --issue-file, not both")
    if issue_file is not None:
        try:
            text = issue_file.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"cannot read --issue-file {issue_file}: {exc}")
    if not text or not text.strip():
        fail("no task given: pass TEXT or --issue-file FILE")
    assert text is not None
    return text


def _engine(repo: Any, config: Any, settings: Any, *, echo: Any, redactor: Any) -> Any:
    from bot.adapters.ledger import SqlLedger
    from bot.adapters.llm import LiteLLMModels
    from bot.adapters.localforge import LocalForge
    from bot.adapters.prices import load_price_table
    from bot.baseline import local_baseline
    from bot.engine import Engine

    forge = LocalForge(env=settings.env, echo=echo, redact=redactor)
    return Engine(
        config=config,
        models=LiteLLMModels(env=settings.model_keys(), redact=redactor.tokens),
        ledger=SqlLedger(settings.ledger_url(repo.git_dir), redactor=redactor),
        forge=forge,
        prices=load_price_table(),
        repo=str(repo.root),
        progress=echo,
        baseline=local_baseline(forge, config.check, repo.git_dir, echo),
    )


def _run(repo: Any, config: Any, settings: Any, task: Any, redactor: Any, base: str) -> Any:
    from bot.executor import Executor

    def echo(line: str) -> None:
        click.echo(f"tierbot: {redactor(line)}", err=True)

    engine = _engine(repo, config, settings, echo=echo, redactor=redactor)
    branch = repo.unique_branch(task.slug)
    echo(f"{task.type} task on branch {branch} (worktree; your checkout is not touched)")
    workspace = repo.add_worktree(branch, base=base)
    try:
        executor = Executor(
            forge=engine.forge, workspace=workspace, dry_run=False, redactor=redactor
        )
        result = engine.run(task, workspace, executor)
    finally:
        repo.remove_worktree(workspace)
    if result.branch is None:
        repo.delete_branch(branch)
    return result


def _dry_run(repo: Any, config: Any, settings: Any, task: Any, as_json: bool) -> None:
    from bot.adapters.git import CheckoutView
    from bot.engine import plan

    engine = _engine(repo, config, settings, echo=lambda _line: None, redactor=settings.redactor())
    result = plan(engine, task, CheckoutView(repo))
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2))
        return
    click.echo(f"plan for a {task.type} task (dry run: no model call, no commit)")
    for t in result.tiers:
        price = (
            f"${t.price.input_per_mtok:g}/${t.price.output_per_mtok:g} per 1M in/out"
            if t.price
            else "price unknown"
        )
        worst = f"${t.worst_per_call_usd:.4f}" if t.worst_per_call_usd is not None else "unknown"
        if t.model == "template":
            click.echo(f"  {t.tier:<9} free: {t.note}")
        else:
            click.echo(
                f"  {t.tier:<9} {t.model}: ~{t.prompt_tokens} tokens in, up to "
                f"{t.max_output_tokens} out, {price}; worst case {worst}/call, "
                f"up to {t.max_calls} calls"
            )
    total = result.worst_total_usd
    shown = f"${total:.4f}" if total is not None else "unknown"
    click.echo(f"worst case for the whole ladder: {shown} (budget per task ${result.budget_usd:g})")
