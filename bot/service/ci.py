"""CI on a task's pushed commit is its check: done, retry, escalate, or hand to a human."""

from __future__ import annotations

from bot.config import ConfigError
from bot.core.ci import JobInfo, attribute, failed_jobs
from bot.core.logs import excerpt
from bot.core.types import CheckResult, Status
from bot.engine import TaskRun
from bot.events import Event
from bot.orchestrator.github import is_feature_state, run_feature_issue, waits_for
from bot.ports.tasks import IssueTask
from bot.service.context import Context
from bot.service.issue_state import interrupted
from bot.service.status import report_config_error
from bot.service.tasks import conclude, drive, make_engine, resume

LOG_CHARS = 6000


def take_ci(ctx: Context, event: Event, item: IssueTask) -> None:
    """The CI of ``event`` (a completed suite or run on the task's branch) moves the task on."""
    assert event.repo is not None and event.conclusion is not None
    repo, issue = event.repo.full_name, item.issue
    if interrupted(item):  # the worker of its last step stopped: finish that step first
        config = ctx.repo_config(event)
        if isinstance(config, ConfigError):
            report_config_error(ctx, repo, issue, config)
        else:
            resume(ctx, event.repo, config, item)
        return
    if item.status != Status.RUNNING or not item.state:
        return
    state = None if is_feature_state(item.state) else TaskRun.from_json(item.state)
    if state is None:
        waited = waits_for(item.state)
    else:
        waited = state.pending.result.commit_sha if state.pending else None
    if waited is None or waited != event.head_sha:
        return  # a duplicate event, or CI of an older commit
    ctx.executor.begin(
        f"take CI {event.conclusion} on {repo}#{issue} as the check result",
        lambda: _resume_on_ci(ctx, event, item, state),
    )


def _resume_on_ci(ctx: Context, event: Event, item: IssueTask, state: TaskRun | None) -> None:
    assert event.repo is not None
    repo = event.repo.full_name
    config = ctx.repo_config(event)
    if isinstance(config, ConfigError):
        report_config_error(ctx, repo, item.issue, config)
        return
    jobs = ci_jobs(ctx, repo, item.branch, event.head_sha or "")
    check = check_result(ctx, repo, event, jobs)
    reason = None
    if not check.passed:
        reason = attribute(
            jobs,
            base_branch=event.repo.default_branch,
            base_red=base_red(ctx, repo, event.repo.default_branch),
            log=check.output,
        )
    if state is None:  # a plan: the check of the whole, charged to the subtasks it names
        run_feature_issue(ctx, event.repo, config, item, check=check)
        return
    if reason is not None:
        engine = make_engine(ctx, config, repo)
        conclude(ctx, event.repo, item, engine.stop(state, check, reason, item.branch))
        return
    drive(ctx, event.repo, config, item, lambda engine, ws, ex: engine.resume(state, check, ws, ex))


def ci_jobs(ctx: Context, repo: str, branch: str, sha: str) -> list[JobInfo]:
    jobs: list[JobInfo] = []
    for run in ctx.github.workflow_runs(repo, branch=branch):
        if run.head_sha != sha:
            continue
        # The REST jobs list carries no step outcomes; attribution reads the logs instead.
        jobs += [JobInfo(j.id, j.name, j.conclusion) for j in ctx.github.jobs(repo, run.id)]
    return jobs


def check_result(ctx: Context, repo: str, event: Event, jobs: list[JobInfo]) -> CheckResult:
    command = f"CI ({event.name})"
    if event.conclusion == "success":
        return CheckResult(True, 0, 0.0, command, "CI passed")
    logs = []
    for job in failed_jobs(jobs):
        logs.append(f"## job {job.name}\n{ctx.github.job_log(repo, job.id)}")
    output = ctx.redactor("\n".join(logs) or f"CI concluded {event.conclusion} (no job logs found)")
    return CheckResult(False, 1, 0.0, command, output, excerpt(output, max_chars=LOG_CHARS))


def base_red(ctx: Context, repo: str, base: str) -> bool:
    completed = [r for r in ctx.github.workflow_runs(repo, branch=base) if r.conclusion]
    return bool(completed) and completed[0].conclusion == "failure"
