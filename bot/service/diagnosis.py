"""Diagnose red CI on a pull request with the senior tier; push the fix only where allowed.

Triggers: the debug label (``tierbot:debug``) on a PR, and ``/tierbot debug``
(``commands.py``), each only from a user with write access. The failing jobs' logs of the
PR's head commit are scrubbed of secrets as soon as they are read, excerpted within the
tier's budget and sent once; the diagnosis (likely cause, evidence lines, proposed fix) is one
comment of the bot's, edited in place by its marker. A one-line fix on a line the PR changed
is also posted as an inline suggestion (GitHub's "Commit suggestion" button). A fix *commit*
is pushed only when ``debug.fix_commit`` is on, only to a ``tierbot/*`` branch of the same
repository whose task is not running, and only inside ``paths``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from bot.actions import PostReview, ReviewLine, UpsertComment
from bot.config import RepoConfig, TierSpec
from bot.core.answers import without_quote
from bot.core.diagnosis import (
    DIAGNOSIS_MARKER,
    Diagnosis,
    DiagnosisOutputError,
    debug_prompt,
    fix_comment,
    parse_diagnosis,
    render_diagnosis,
)
from bot.core.diff import DiffError, parse_diff
from bot.core.logs import scrub
from bot.core.types import Outcome, Status, Task
from bot.events import RepoRef
from bot.ports.github import GitHubError, GitHubPort, JobInfo, PullInfo, WorkflowRunInfo
from bot.ports.tasks import IssueTask
from bot.prompts import file_prompts
from bot.service.context import Context
from bot.service.fix import push_fix
from bot.service.gate import comment_detail, comment_tier
from bot.service.paid import CallFailed, PaidTask, no_answer, pull_task

log = logging.getLogger("tierbot.debug")
TASK_TYPE = "debug"
RED = frozenset({"failure", "timed_out", "startup_failure"})


# -- the diagnosis ---------------------------------------------------------------------------


def diagnose_pull(ctx: Context, repo_ref: RepoRef, number: int, config: RepoConfig) -> None:
    """Read the failing logs of the PR's head, ask the tier why, and post the diagnosis."""
    tier = config.tier(comment_tier(config, TASK_TYPE))
    ctx.executor.begin(
        f"diagnose the red CI of {repo_ref.full_name}#{number} with the {tier.name} tier",
        lambda: _start_diagnosis(ctx, repo_ref, number, config, tier),
    )


def _start_diagnosis(
    ctx: Context, repo_ref: RepoRef, number: int, config: RepoConfig, tier: TierSpec
) -> None:
    repo, gh = repo_ref.full_name, ctx.github
    pull = gh.pull(repo, number)
    jobs, state = failing_jobs(gh, repo, pull.head_sha)
    if not jobs:
        say(ctx, repo, number, f"Nothing to diagnose: {state}.")
        return
    logs = read_logs(gh, repo, jobs, ctx.redactor)
    if not logs:
        say(ctx, repo, number, f"The logs of {_names(jobs)} could not be read (expired?).")
        return
    text = f"Diagnose the red CI of {repo}#{number} at {pull.head_sha}"
    job = pull_task(TASK_TYPE, number, text=text, title=scrub(pull.title))
    subject = Subject(number, pull.title, changed_paths(gh, repo, number), pull)
    ctx.echo(f"diagnosing {len(jobs)} failing job(s) of {repo}#{number} with the {tier.name} tier")
    diagnose_logs(ctx, repo_ref, config, job, subject, logs)


@dataclass(frozen=True)
class Subject:
    """What a diagnosis is of: the PR (or issue) its comment goes on, the title and the files
    its prompt names, and the PR at the diagnosed commit, where its fix may be suggested."""

    number: int
    title: str
    files: Sequence[str]
    pull: PullInfo | None = None
    # Why a fix may not be committed here whatever ``debug.fix_commit`` says; "": it may.
    no_commit: str = ""


def diagnose_logs(
    ctx: Context,
    repo_ref: RepoRef,
    config: RepoConfig,
    job: Task,
    subject: Subject,
    logs: list[tuple[str, str]],
) -> str:
    """Diagnose ``logs`` (already scrubbed) as the ledger task ``job`` and post it on
    ``subject``; "" once posted, else why no diagnosis was (the comment says so too)."""
    tier = config.tier(comment_tier(config, TASK_TYPE))
    task = PaidTask.start(ctx, config, repo_ref.full_name, job, tier.name)
    with task:
        return _diagnose(ctx, task, repo_ref, config, tier, subject, logs)


def _diagnose(
    ctx: Context,
    task: PaidTask,
    repo_ref: RepoRef,
    config: RepoConfig,
    tier: TierSpec,
    subject: Subject,
    logs: list[tuple[str, str]],
) -> str:
    """Fit the logs into a prompt, ask the tier, post the diagnosis and, if allowed, the fix."""
    repo, number, gh = repo_ref.full_name, subject.number, ctx.github
    try:
        prompt = debug_prompt(
            logs,
            tier.context_tokens - tier.max_tokens,
            title=subject.title,
            changed_files=subject.files,
            prompts=file_prompts(),
        )
    except ValueError as exc:
        return fail(ctx, task, repo, number, "the logs could not be fitted into a prompt", str(exc))
    attempt = task.attempt(tier)
    result = task.call(attempt, tier, prompt.messages)
    if isinstance(result, CallFailed):
        task.finish_attempt(attempt, result.outcome, "")
        headline, status = no_answer(tier, refused=result.refused)
        return fail(ctx, task, repo, number, headline, result.reason, status=status)
    try:
        diagnosis = parse_diagnosis(result.text)
    except DiagnosisOutputError as exc:
        task.finish_attempt(attempt, Outcome.INVALID_EDIT, comment_detail(without_quote(exc)))
        return fail(ctx, task, repo, number, f"the {tier.name} tier failed", without_quote(exc))
    pull, committed, note = subject.pull, None, ""
    if pull is not None and diagnosis.fix is not None and config.debug.fix_commit:
        if subject.no_commit:
            note = f"The fix was not committed: {subject.no_commit}."
        else:
            committed, note = push_fix(ctx, gh, repo_ref, pull, config, diagnosis, tier)
    task.finish_attempt(
        attempt, Outcome.GREEN, comment_detail(diagnosis.likely_cause), commit_sha=committed
    )
    body = render_diagnosis(
        diagnosis,
        cost_line=(f"{note}\n\n" if note else "") + task.cost_line(),
        jobs=prompt.jobs,
        omitted=prompt.omitted,
    )
    ctx.executor.apply(UpsertComment(repo, number, DIAGNOSIS_MARKER, body))
    if committed is None and pull is not None:
        post_suggestion(ctx, gh, repo, number, pull.head_sha, diagnosis)
    task.finish(Status.DONE, comment_detail(diagnosis.likely_cause))
    log.info("diagnosed %s#%s with the %s tier", repo, number, tier.name)
    return ""


def failing_jobs(gh: GitHubPort, repo: str, sha: str) -> tuple[list[JobInfo], str]:
    """The failed jobs of the newest run of each workflow on ``sha``, or why there are none."""
    latest: dict[str, WorkflowRunInfo] = {}
    for run in gh.workflow_runs(repo, head_sha=sha):  # newest first
        latest.setdefault(run.name or str(run.id), run)
    short = sha[:7]
    if not latest:
        return [], f"no CI run was found for `{short}`"
    red = [r for r in latest.values() if r.conclusion in RED]
    jobs = [j for r in red for j in gh.jobs(repo, r.id) if j.conclusion in RED]
    if jobs:
        return jobs, ""
    running = [r for r in latest.values() if r.status != "completed"]
    if running:
        return [], f"CI on `{short}` has not finished ({_names(running)} still running)"
    if red:
        return [], f"{_names(red)} failed on `{short}` without a failed job to read"
    return [], f"CI on `{short}` is not red ({_names(latest.values())}: no failure)"


def read_logs(
    gh: GitHubPort, repo: str, jobs: Sequence[JobInfo], redact: Callable[[str], str] = scrub
) -> list[tuple[str, str]]:
    """(name, log) of each job whose log can still be read (GitHub keeps them for a while).

    Scrubbed on arrival by ``redact`` (the process's redactor, which also knows the secret
    values): no later step (prompt, error text, comment, log line) sees a raw log.
    """
    logs = []
    for job in jobs:
        try:
            logs.append((redact(job.name), redact(gh.job_log(repo, job.id))))
        except GitHubError as exc:
            log.warning("the log of job %s of %s is unreadable: %s", job.id, repo, exc.status)
    return logs


def _names(runs: Iterable[JobInfo | WorkflowRunInfo]) -> str:
    return ", ".join(f"`{scrub(str(r.name or r.id))}`" for r in runs)


def changed_paths(gh: GitHubPort, repo: str, number: int) -> list[str]:
    try:
        return [f.path for f in gh.pull_files(repo, number)]
    except GitHubError:
        return []  # context for the model, not essential


def post_suggestion(
    ctx: Context, gh: GitHubPort, repo: str, number: int, sha: str, diagnosis: Diagnosis
) -> None:
    """The fix as an inline suggestion when it replaces a line the PR changed."""
    fix = diagnosis.fix
    if fix is None or fix.suggestion is None or fix.path is None or fix.line is None:
        return
    try:
        diff = parse_diff(gh.pull_diff(repo, number))
    except (GitHubError, DiffError):
        return  # the suggestion is in the diagnosis comment anyway
    comment = fix_comment(diagnosis, diff)
    if comment is None:
        return
    line = ReviewLine(comment["path"], comment["line"], comment["side"], comment["body"])
    body = "tierbot's proposed fix for the red CI, as a suggestion you can commit."
    try:
        ctx.executor.apply(PostReview(repo, number, sha, body, (line,)))
    except GitHubError as exc:
        log.warning("the fix suggestion on %s#%s was refused: %s", repo, number, exc.status)


def say(ctx: Context, repo: str, number: int, text: str) -> None:
    body = f"### tierbot diagnosis\n\n{text}\n\n{DIAGNOSIS_MARKER}\n"
    ctx.executor.apply(UpsertComment(repo, number, DIAGNOSIS_MARKER, body))


def fail(
    ctx: Context,
    task: PaidTask,
    repo: str,
    number: int,
    headline: str,
    detail: str,
    *,
    status: Status = Status.NEEDS_HUMAN,
) -> str:
    """Say on the PR that no diagnosis was posted, and why (returned); nothing of a bad answer
    is shown."""
    quoted = f"> {comment_detail(detail)}\n\n" if detail.strip() else ""
    say(
        ctx,
        repo,
        number,
        f"⚠️ **No diagnosis was posted: {headline}.**\n\n{quoted}"
        f"Ask again with `/tierbot debug`.\n\n{task.cost_line()}",
    )
    task.finish(status, f"{headline}: {comment_detail(detail)}")
    ctx.echo(f"diagnosis of {repo}#{number} failed: {headline}")
    log.warning("diagnosis of %s#%s failed: %s", repo, number, headline)
    return headline


def diagnose_red_ceiling(
    ctx: Context, repo_ref: RepoRef, item: IssueTask, config: RepoConfig
) -> None:
    """A task that reached its ceiling on red CI gets the senior diagnosis on its PR."""
    if item.pr_number is None:
        return
    try:
        diagnose_pull(ctx, repo_ref, item.pr_number, config)
    except Exception as exc:  # the task's outcome is stored; a lost diagnosis is not
        ctx.echo(f"diagnosis of {repo_ref.full_name}#{item.pr_number} failed: {exc}")
