"""CI on tierbot's own pull requests decides: done, retry, escalate, or hand to a human."""

from __future__ import annotations

from typing import Any

from bot.config import ConfigError
from bot.core.ci import JobInfo, StepInfo, attribute, failed_jobs
from bot.core.logs import excerpt
from bot.core.types import CheckResult, Status
from bot.engine import TaskRun
from bot.events import Event
from bot.handlers.context import Context
from bot.handlers.tasks import (
    conclude,
    drive,
    interrupted,
    make_engine,
    report_config_error,
    resume_task,
)
from bot.router import Router

router = Router()
LOG_CHARS = 6000


@router.on("check_suite.completed", "workflow_run.completed")
def escalate_on_red_ci(event: Event, ctx: Context) -> None:
    issue = event.task_issue
    if issue is None or event.repo is None or event.conclusion is None:
        return
    repo = event.repo.full_name
    item = ctx.store.get(repo, issue)
    if item is None or not item.state:
        return
    if interrupted(item):  # the worker of its last step stopped: finish that step first
        config = ctx.repo_config(event)
        if isinstance(config, ConfigError):
            report_config_error(ctx, repo, issue, config)
        else:
            resume_task(ctx, event.repo, config, item)
        return
    if item.status != Status.RUNNING:
        return
    state = TaskRun.from_json(item.state)
    if state.pending is None or state.pending.result.commit_sha != event.head_sha:
        return  # a duplicate event, or CI of an older commit
    if ctx.dry_run:
        ctx.echo(f"would take CI {event.conclusion} on {repo}#{issue} as the check result")
        return
    config = ctx.repo_config(event)
    if isinstance(config, ConfigError):
        report_config_error(ctx, repo, issue, config)
        return
    jobs = _jobs(ctx, repo, item.branch, event.head_sha or "")
    check = _check_result(ctx, repo, event, jobs)
    reason = None
    if not check.passed:
        reason = attribute(
            jobs,
            base_branch=event.repo.default_branch,
            base_red=_base_red(ctx, repo, event.repo.default_branch),
            log=check.output,
        )
    if reason is not None:
        engine = make_engine(ctx, config, repo)
        conclude(ctx, event.repo, item, engine.stop(state, check, reason, item.branch))
        return
    drive(ctx, event.repo, config, item, lambda engine, ws, ex: engine.resume(state, check, ws, ex))


def _jobs(ctx: Context, repo: str, branch: str, sha: str) -> list[JobInfo]:
    jobs: list[JobInfo] = []
    for run in ctx.github.workflow_runs(repo, branch=branch):
        if getattr(run, "head_sha", sha) != sha:
            continue
        for job in ctx.github.jobs(repo, run.id):
            steps = tuple(StepInfo(s.name, s.conclusion) for s in getattr(job, "steps", ()) or ())
            jobs.append(JobInfo(job.id, job.name, job.conclusion, steps))
    return jobs


def _check_result(ctx: Context, repo: str, event: Event, jobs: list[JobInfo]) -> CheckResult:
    command = f"CI ({event.name})"
    if event.conclusion == "success":
        return CheckResult(True, 0, 0.0, command, "CI passed")
    logs = []
    for job in failed_jobs(jobs):
        logs.append(f"## job {job.name}\n{ctx.github.job_log(repo, job.id)}")
    output = ctx.redactor("\n".join(logs) or f"CI concluded {event.conclusion} (no job logs found)")
    return CheckResult(False, 1, 0.0, command, output, excerpt(output, max_chars=LOG_CHARS))


def _base_red(ctx: Context, repo: str, base: str) -> bool:
    runs: list[Any] = list(ctx.github.workflow_runs(repo, branch=base))
    completed = [r for r in runs if getattr(r, "conclusion", None)]
    return bool(completed) and completed[0].conclusion == "failure"
