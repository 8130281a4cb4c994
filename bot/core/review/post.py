"""The review posted: inline comments on valid diff lines, everything else in the summary."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import TypedDict

from bot.core.context import fence
from bot.core.diff import Diff, Side
from bot.core.review.chunks import ReviewPlan
from bot.core.review.findings import Finding, fingerprint
from bot.core.review.rules import (
    COST_PLACEHOLDER,
    clean,
    clean_suggestion,
)
from bot.core.review.summary import Moved, summary
from bot.spec import SEVERITIES, RepoConfig, ReviewSpec


class ReviewComment(TypedDict):
    """One entry of the reviews API's ``comments`` array."""

    path: str
    line: int
    side: str
    body: str


@dataclass(frozen=True)
class ReviewOutput:
    summary_markdown: str
    inline_comments: list[ReviewComment]
    fingerprints: tuple[str, ...]  # everything posted so far, this review included
    in_summary: int = 0
    repeated: int = 0
    below_threshold: int = 0
    event: str = "COMMENT"  # the bot comments; it never approves or requests changes


def build_review(
    plan: ReviewPlan,
    findings_per_chunk: Sequence[Sequence[Finding] | None],
    previous_fingerprints: Collection[str],
    config: RepoConfig | ReviewSpec,
    *,
    cost_line: str = COST_PLACEHOLDER,
) -> ReviewOutput:
    """One review: inline comments on valid diff lines, the rest and all omissions in the summary.

    ``findings_per_chunk[i]`` is None when chunk i's answer was unusable; its files are then
    reported as not reviewed. Findings below ``min_severity`` are counted, not posted;
    findings already posted (by fingerprint) are not repeated; inline comments beyond
    ``max_comments`` move to the summary, most severe kept inline first.
    """
    spec = config.review if isinstance(config, RepoConfig) else config
    if len(findings_per_chunk) != len(plan.chunks):
        raise ValueError(
            f"{len(findings_per_chunk)} lists of findings for {len(plan.chunks)} chunks"
        )
    sorted_ = _sort(plan, findings_per_chunk, previous_fingerprints, spec)
    ranked = sorted(sorted_.anchored, key=lambda f: SEVERITIES.index(f.severity))
    inline = ranked[: spec.max_comments]
    moved = sorted_.moved + [
        Moved(f, f"over the limit of {spec.max_comments} inline comments")
        for f in ranked[spec.max_comments :]
    ]
    comments: list[ReviewComment] = [
        {"path": f.path, "line": f.line or 0, "side": f.side.value, "body": _comment_body(f)}
        for f in inline
    ]
    prints = tuple(dict.fromkeys([*previous_fingerprints, *sorted_.new_prints]))
    text = summary(
        plan,
        findings_per_chunk,
        inline=len(comments),
        moved=moved,
        repeated=sorted_.repeated,
        below=sorted_.below,
        spec=spec,
        cost_line=cost_line,
        prints=prints,
    )
    return ReviewOutput(
        summary_markdown=text,
        inline_comments=comments,
        fingerprints=prints,
        in_summary=len(moved),
        repeated=sorted_.repeated,
        below_threshold=sorted_.below,
    )


@dataclass
class _Sorted:
    """The new findings of a review, by where they go, and the counts of those left out."""

    anchored: list[Finding] = field(default_factory=list)
    moved: list[Moved] = field(default_factory=list)
    new_prints: list[str] = field(default_factory=list)
    repeated: int = 0
    below: int = 0


def _sort(
    plan: ReviewPlan,
    findings_per_chunk: Sequence[Sequence[Finding] | None],
    previous_fingerprints: Collection[str],
    spec: ReviewSpec,
) -> _Sorted:
    threshold = SEVERITIES.index(spec.min_severity)
    seen = set(previous_fingerprints)
    out = _Sorted()
    for findings in findings_per_chunk:
        for finding in findings or ():
            key = fingerprint(finding, plan.diff)
            if key in seen:
                if key in previous_fingerprints:
                    out.repeated += 1
                continue
            if SEVERITIES.index(finding.severity) > threshold:
                out.below += 1
                continue
            seen.add(key)
            out.new_prints.append(key)
            note = _not_anchored(finding, plan.diff)
            if note is None:
                out.anchored.append(finding)
            else:
                out.moved.append(Moved(finding, note))
    return out


def _not_anchored(finding: Finding, diff: Diff) -> str | None:
    """Why a finding cannot be an inline comment, or None when it can."""
    if not finding.path:
        return "about the pull request as a whole"
    f = diff.file(finding.path)
    if f is None:
        return f"`{clean(finding.path)}` is not a file of this diff"
    if finding.line is None:
        return "no line given"
    if f.line_text(finding.side, finding.line) is None:
        side = "" if finding.side is Side.RIGHT else " (old side)"
        return f"line {finding.line}{side} is not part of this diff"
    return None


def _comment_body(f: Finding) -> str:
    body = f"**{f.severity}**: {clean(f.body)}"
    if f.suggestion is not None:
        suggestion = clean_suggestion(f.suggestion)
        if f.side is Side.RIGHT:
            body += "\n\n" + fence(suggestion, "suggestion")
        else:
            body += "\n\nSuggested replacement:\n\n" + fence(suggestion)
    return body
