"""The review's summary: what was reviewed, what moved out of line, what was left out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.context import fence
from bot.core.review.chunks import Chunk, ReviewPlan
from bot.core.review.findings import Finding, encode_marker
from bot.core.review.rules import (
    MAX_PATHS_PER_REASON,
    MAX_SUMMARY_BODY_CHARS,
    MAX_SUMMARY_CHARS,
    clean,
    clean_suggestion,
)
from bot.spec import ReviewSpec


@dataclass(frozen=True)
class Moved:
    finding: Finding
    note: str


def summary(
    plan: ReviewPlan,
    findings_per_chunk: Sequence[Sequence[Finding] | None],
    *,
    inline: int,
    moved: list[Moved],
    repeated: int,
    below: int,
    spec: ReviewSpec,
    cost_line: str,
    prints: tuple[str, ...],
) -> str:
    failed = [c for c, found in zip(plan.chunks, findings_per_chunk, strict=True) if found is None]
    lines = ["### tierbot review", "", _scope_line(plan, failed)]
    counts = [f"{inline} inline comment{'s' if inline != 1 else ''}"]
    if moved:
        counts.append(f"{len(moved)} in this summary")
    if below:
        counts.append(f"{below} below the `{spec.min_severity}` threshold not shown")
    if repeated:
        counts.append(f"{repeated} already posted on an earlier review not repeated")
    lines += ["", "**Findings:** " + " · ".join(counts) + "."]
    if moved:
        lines += _moved_lines(moved, used=sum(len(x) + 1 for x in lines))
    if failed:
        lines += ["", "#### Parts that could not be reviewed"]
        for chunk in failed:
            lines.append(
                f"- part {chunk.index} of {len(plan.chunks)} "
                f"({path_list(chunk.paths)}): the model's answer was unusable"
            )
    lines += _left_out_lines(plan)
    lines += ["", cost_line, "", encode_marker(prints)]
    return "\n".join(lines) + "\n"


def _scope_line(plan: ReviewPlan, failed: Sequence[Chunk]) -> str:
    failed_paths = {p for c in failed for p in c.paths}
    reviewed = [p for p in plan.reviewed if p not in failed_paths]
    reviewed_files = [f for p in reviewed if (f := plan.diff.file(p)) is not None]
    total = len(plan.diff.files)
    if not reviewed_files:
        return f"Nothing was reviewed: none of the {total} changed files was sent."
    added = sum(f.added for f in reviewed_files)
    removed = sum(f.removed for f in reviewed_files)
    parts = len(plan.chunks) - len(failed)
    return (
        f"Reviewed {len(reviewed_files)} of {total} changed files "
        f"(+{added} -{removed} lines) in {parts} part{'s' if parts != 1 else ''}."
    )


def _moved_lines(moved: Sequence[Moved], *, used: int) -> list[str]:
    body_budget = MAX_SUMMARY_CHARS - 8000  # room for the lists below, the cost and the marker
    lines = ["", "#### Findings in this summary"]
    shown = 0
    for item in moved:
        entry = summary_entry(item)
        if used + len(entry) > body_budget:
            break
        lines.append(entry)
        used += len(entry) + 1
        shown += 1
    if shown < len(moved):
        lines.append(
            f"- ... and {len(moved) - shown} more, left out to keep this summary within "
            "GitHub's size limit"
        )
    return lines


def _left_out_lines(plan: ReviewPlan) -> list[str]:
    lines: list[str] = []
    if plan.skipped:
        lines += ["", "#### Not reviewed"]
        by_reason: dict[str, list[str]] = {}
        for skip in plan.skipped:
            by_reason.setdefault(skip.reason, []).append(skip.path)
        for reason, paths in by_reason.items():
            lines.append(f"- {reason} ({len(paths)}): {path_list(paths)}")
    if plan.truncated:
        lines += ["", "#### Cut to fit the token budget"]
        for cut in plan.truncated[:MAX_PATHS_PER_REASON]:
            lines.append(f"- `{clean(cut.path)}`: {cut.detail}")
        if len(plan.truncated) > MAX_PATHS_PER_REASON:
            lines.append(f"- ... and {len(plan.truncated) - MAX_PATHS_PER_REASON} more cuts")
    return lines


def summary_entry(item: Moved) -> str:
    f = item.finding
    where = f"`{clean(f.path)}`" if f.path else "the pull request"
    if f.path and f.line is not None:
        where += f" line {f.line}"
    body = clean(f.body)
    if len(body) > MAX_SUMMARY_BODY_CHARS:
        body = body[:MAX_SUMMARY_BODY_CHARS] + " [...]"
    text = f"- **{f.severity}** {where}: {body} _({item.note})_"
    if f.suggestion is not None:
        # A suggestion block only applies inside an inline comment; here it is plain code.
        text += "\n\n" + fence(clean_suggestion(f.suggestion))
    return text.replace("\n", "\n  ")


def path_list(paths: Sequence[str]) -> str:
    shown = ", ".join(f"`{clean(p)}`" for p in paths[:MAX_PATHS_PER_REASON])
    if len(paths) > MAX_PATHS_PER_REASON:
        shown += f" and {len(paths) - MAX_PATHS_PER_REASON} more"
    return shown
