"""Review a pull request with the senior tier: one GitHub review per run, a summary kept in place.

Triggers: the review label (``tierbot:review``) on a PR, a new non-draft PR when
``review.on_open`` is set, and ``/tierbot review`` (``commands.py``), each only from a user
with write access. The inline comments of a run go out as one review (the reviews API with a
``comments`` array), only on lines inside the diff's hunks. The summary (what was reviewed,
what was skipped and why, findings that are not on a diff line, the cost) is one comment
of the bot's, found again by its hidden marker and edited in place; the marker carries the
fingerprints of every finding posted so far, so a re-review after a push repeats none.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from bot.actions import PostReview, ReviewLine, UpsertComment
from bot.config import RepoConfig, TierSpec
from bot.core.answers import without_quote
from bot.core.diff import Diff, DiffError, parse_diff
from bot.core.review import (
    MARKER_PREFIX,
    Finding,
    ReviewOutput,
    ReviewOutputError,
    ReviewPlan,
    build_review,
    chunk_budget,
    encode_marker,
    parse_findings,
    parse_triage,
    plan_review,
    select_files,
    triage_prompt,
)
from bot.core.types import Outcome, Status
from bot.events import RepoRef
from bot.metering import REFUSED
from bot.ports.github import GitHubError, GitHubPort, PullInfo
from bot.prompts import file_prompts
from bot.service.context import Context
from bot.service.gate import comment_detail, comment_tier
from bot.service.paid import CallFailed, PaidTask, no_answer, pull_task
from bot.service.pull_diff import DiffUnavailable, PullDiff, fetch_diff, previous_fingerprints

log = logging.getLogger("tierbot.review")
TASK_TYPE = "review"


@dataclass(frozen=True)
class Problem:
    part: int
    reason: str


# -- the review ------------------------------------------------------------------------------


def review_pull(ctx: Context, repo_ref: RepoRef, number: int, config: RepoConfig) -> None:
    """Review the pull request's current head and post the review and the summary."""
    repo = repo_ref.full_name
    tier = config.tier(comment_tier(config, TASK_TYPE))
    ctx.executor.begin(
        f"review {repo}#{number} with the {tier.name} tier: one review with inline "
        "comments on diff lines, and the summary comment edited in place",
        lambda: _start_review(ctx, repo, number, config, tier),
    )


def _start_review(ctx: Context, repo: str, number: int, config: RepoConfig, tier: TierSpec) -> None:
    gh = ctx.github
    pull = gh.pull(repo, number)
    if pull.state != "open":
        ctx.echo(f"{repo}#{number} is {pull.state}; not reviewed")
        return
    previous = previous_fingerprints(gh, repo, number)
    text = f"Review of {repo}#{number} at {pull.head_sha}"
    job = pull_task(TASK_TYPE, number, text=text, title=pull.title)
    task = PaidTask.start(ctx, config, repo, job, tier.name)
    ctx.echo(f"reviewing {repo}#{number} at {pull.head_sha[:12]} with the {tier.name} tier")
    with task:
        _review(ctx, gh, task, repo, number, config, tier, pull, previous)


def _review(
    ctx: Context,
    gh: GitHubPort,
    task: PaidTask,
    repo: str,
    number: int,
    config: RepoConfig,
    tier: TierSpec,
    pull: PullInfo,
    previous: frozenset[str],
) -> None:
    """Read the diff, plan the chunks, ask the tier, post the review and the summary."""
    try:
        budget = chunk_budget(tier, config.review)
        source = fetch_diff(ctx, gh, repo, number, pull)
        diff = parse_diff(source.text)
    except (ValueError, DiffError, DiffUnavailable) as exc:
        post_failure(ctx, task, repo, number, previous, "the diff could not be read", str(exc))
        return
    triage, triage_note = run_triage(task, config, diff, source, pull)
    try:
        plan = plan_review(
            diff,
            config,
            budget,
            title=pull.title,
            description=pull.body,
            heads=source.heads,
            triage=triage,
            prompts=file_prompts(),
        )
    except ValueError as exc:
        post_failure(ctx, task, repo, number, previous, "the review could not be planned", str(exc))
        return
    findings, problems = review_chunks(task, tier, plan)
    sent = [f for f in findings if f is not None]
    if plan.chunks and not sent:
        refused = all(p.reason.startswith(REFUSED) for p in problems)
        headline, status = no_answer(tier, refused=refused)
        reasons = "; ".join(p.reason.removeprefix(f"{REFUSED}: ") for p in problems[:3])
        post_failure(ctx, task, repo, number, previous, headline, reasons, status=status)
        return
    notes = _notes(source, triage_note, problems, findings)
    out = build_review(plan, findings, previous, config, cost_line=notes + task.cost_line())
    if not post_review(ctx, task, repo, number, source.head_sha, out, previous):
        return
    detail = (
        f"{len(out.inline_comments)} inline, {out.in_summary} in the summary, "
        f"{out.repeated} repeated, {len(problems)} of {len(plan.chunks)} parts failed"
    )
    task.finish(Status.DONE, detail)
    ctx.echo(f"reviewed {repo}#{number}: {detail}")
    log.info("reviewed %s#%s: %s", repo, number, detail)


def post_review(
    ctx: Context,
    task: PaidTask,
    repo: str,
    number: int,
    head_sha: str,
    out: ReviewOutput,
    previous: frozenset[str],
) -> bool:
    """The inline comments as one review at ``head_sha``, then the summary edited in place;
    False when GitHub refused the review (the failure is then what the summary says)."""
    if out.inline_comments:
        lines = tuple(
            ReviewLine(c["path"], c["line"], c["side"], c["body"]) for c in out.inline_comments
        )
        count = len(lines)
        body = (
            f"tierbot review of `{head_sha[:7]}`: {count} inline comment"
            f"{'s' if count != 1 else ''}. What was reviewed and skipped, the findings that are "
            "not on a changed line, and the cost are in tierbot's review summary comment."
        )
        try:
            ctx.executor.apply(PostReview(repo, number, head_sha, body, lines))
        except GitHubError as exc:
            post_failure(ctx, task, repo, number, previous, "GitHub refused the review", str(exc))
            return False
    ctx.executor.apply(UpsertComment(repo, number, MARKER_PREFIX, out.summary_markdown))
    return True


def review_chunks(
    task: PaidTask, tier: TierSpec, plan: ReviewPlan
) -> tuple[list[Sequence[Finding] | None], list[Problem]]:
    """One call per chunk; an unusable answer loses its chunk, a fatal failure all the rest."""
    findings: list[Sequence[Finding] | None] = []
    problems: list[Problem] = []
    if not plan.chunks:
        return findings, problems
    attempt = task.attempt(tier)
    stopped: CallFailed | None = None
    for chunk in plan.chunks:
        if stopped is not None:
            findings.append(None)
            continue
        result = task.call(attempt, tier, chunk.messages)
        if isinstance(result, CallFailed):
            findings.append(None)
            reason = f"{REFUSED}: {result.reason}" if result.refused else result.reason
            problems.append(Problem(chunk.index, reason))
            if result.fatal:
                stopped = result
            continue
        try:
            findings.append(parse_findings(result.text))
        except ReviewOutputError as exc:
            findings.append(None)
            problems.append(Problem(chunk.index, f"unusable answer: {without_quote(exc)}"))
    ok = sum(f is not None for f in findings)
    if ok:
        outcome, detail = Outcome.GREEN, f"{ok} of {len(findings)} parts reviewed"
    elif stopped is not None:
        outcome, detail = stopped.outcome, stopped.reason
    else:
        outcome, detail = Outcome.INVALID_EDIT, problems[0].reason if problems else ""
    task.finish_attempt(attempt, outcome, comment_detail(detail))
    return findings, problems


def run_triage(
    task: PaidTask, config: RepoConfig, diff: Diff, source: PullDiff, pull: PullInfo
) -> tuple[frozenset[str] | None, str]:
    """The paths a cheaper tier picked for the senior look (None: review all), and a note."""
    name = config.review.triage
    if name is None:
        return None, ""
    files, _ = select_files(diff, config.review, heads=source.heads)
    if len(files) < 2:
        return None, ""
    tier = config.tier(name)
    prompt = triage_prompt(
        files,
        tier.context_tokens - tier.max_tokens,
        title=pull.title,
        description=pull.body,
        prompts=file_prompts(),
    )
    attempt = task.attempt(tier)
    result = task.call(attempt, tier, prompt.messages)
    if isinstance(result, CallFailed):
        reason = comment_detail(result.reason)
        task.finish_attempt(attempt, result.outcome, reason)
        return None, f"The triage tier ({name}) was not used ({reason}): every file was reviewed."
    try:
        keep = parse_triage(result.text, prompt)
    except ReviewOutputError as exc:
        task.finish_attempt(attempt, Outcome.INVALID_EDIT, comment_detail(without_quote(exc)))
        return None, f"The triage tier ({name}) gave no usable answer: every file was reviewed."
    task.finish_attempt(attempt, Outcome.GREEN, f"picked {len(keep)} of {len(files)} files")
    return keep, f"The triage tier ({name}) picked {len(keep)} of {len(files)} files."


def _notes(
    source: PullDiff,
    triage: str,
    problems: Sequence[Problem],
    findings: Sequence[Sequence[Finding] | None],
) -> str:
    """Lines the summary carries above the cost: where the diff came from, why parts failed."""
    parts = len(findings)
    lines = []
    if source.note:
        lines.append(f"The diff came from {source.source}: {comment_detail(source.note)}.")
    if triage:
        lines.append(triage)
    if problems:
        lines += ["", "#### Why parts failed"]
        for problem in problems:
            lines.append(f"- part {problem.part} of {parts}: {comment_detail(problem.reason)}")
        failed = {p.part for p in problems}
        unsent = [i for i, f in enumerate(findings, start=1) if f is None and i not in failed]
        if unsent:
            which = ", ".join(str(i) for i in unsent)
            plural = "s" if len(unsent) > 1 else ""
            lines.append(f"- not sent after that failure: part{plural} {which}")
    return "\n".join(lines).strip() + "\n\n" if lines else ""


def post_failure(
    ctx: Context,
    task: PaidTask,
    repo: str,
    number: int,
    previous: Collection[str],
    headline: str,
    detail: str,
    *,
    status: Status = Status.NEEDS_HUMAN,
) -> None:
    """Say on the PR that no review was posted, and why; the fingerprints so far are kept."""
    body = "\n".join(
        [
            "### tierbot review",
            "",
            f"⚠️ **No review was posted: {headline}.**",
            "",
            f"> {comment_detail(detail)}" if detail.strip() else "",
            "",
            "Nothing of a failed answer is posted. Ask again with `/tierbot review`.",
            "",
            task.cost_line(),
            "",
            encode_marker(previous),
            "",
        ]
    )
    ctx.executor.apply(UpsertComment(repo, number, MARKER_PREFIX, body))
    task.finish(status, f"{headline}: {comment_detail(detail)}")
    ctx.echo(f"review of {repo}#{number} failed: {headline}")
    log.warning("review of %s#%s failed: %s", repo, number, headline)
