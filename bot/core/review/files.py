"""Which files of a pull request are reviewed: generated, skipped and triaged files."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from bot.core.answers import extract_json
from bot.core.budget import CHARS_PER_TOKEN_WORST, estimate_tokens
from bot.core.context import fence
from bot.core.diff import Diff, DiffFile, FileStatus
from bot.core.paths import glob_match
from bot.core.prompts import Prompts
from bot.core.review.rules import (
    GENERATED_HEAD_LINES,
    GENERATED_MARKER,
    PROMPT,
    ReviewOutputError,
    pr_fenced,
    scrub_code,
)
from bot.core.types import Message
from bot.spec import ReviewSpec


@dataclass(frozen=True)
class Skipped:
    """A file (or part of one) that was not sent to the model, and why."""

    path: str
    reason: str


@dataclass(frozen=True)
class Truncation:
    """Something cut to fit the budget; ``detail`` says what the model did not see."""

    path: str
    detail: str


def generated_marker(head: str) -> str | None:
    """The "generated" marker in the first lines of a file, if there is one."""
    first = "\n".join(head.splitlines()[:GENERATED_HEAD_LINES])
    match = GENERATED_MARKER.search(first)
    return match.group(0)[:60] if match else None


def file_head(file: DiffFile) -> str | None:
    """The first lines of the new file when the diff shows them (a hunk starting at line 1)."""
    for hunk in file.hunks:
        if hunk.new_start <= 1 and hunk.new_length > 0:
            lines = [line.text for line in hunk.lines if line.new is not None]
            return "\n".join(lines[:GENERATED_HEAD_LINES])
    return None


def select_files(
    diff: Diff, spec: ReviewSpec, *, heads: Mapping[str, str] | None = None
) -> tuple[tuple[DiffFile, ...], tuple[Skipped, ...]]:
    """Split the diff into files worth reviewing and files skipped, each with its reason.

    ``heads`` may hold the first lines of files whose start the diff does not show, for the
    "generated" check.
    """
    kept: list[DiffFile] = []
    skipped: list[Skipped] = []
    for f in diff.files:
        reason = _skip_reason(f, spec, heads or {})
        if reason is None:
            kept.append(f)
        else:
            skipped.append(Skipped(f.path, reason))
    return tuple(kept), tuple(skipped)


def _skip_reason(f: DiffFile, spec: ReviewSpec, heads: Mapping[str, str]) -> str | None:
    if f.status is FileStatus.REMOVED:
        return "deleted"
    if f.binary:
        return "binary file"
    if not f.hunks:
        return "no changed lines (renamed or mode change only)"
    glob = next((g for g in spec.skip if glob_match(f.path, g)), None)
    if glob is not None:
        return f"matches review.skip `{glob}`"
    head = heads.get(f.path)
    if head is None:
        head = file_head(f)
    marker = generated_marker(head) if head else None
    if marker is not None:
        return f"generated (`{marker}` in its first lines)"
    return None


def apply_triage(
    files: Sequence[DiffFile], keep: Collection[str]
) -> tuple[tuple[DiffFile, ...], tuple[Skipped, ...]]:
    """Narrow ``files`` to the paths a cheaper tier picked for the senior look."""
    kept = tuple(f for f in files if f.path in keep)
    skipped = tuple(
        Skipped(f.path, "not picked by the triage tier") for f in files if f.path not in keep
    )
    return kept, skipped


@dataclass(frozen=True)
class TriagePrompt:
    messages: tuple[Message, ...]
    shown: tuple[str, ...]  # paths listed to the triage model
    unshown: tuple[str, ...]  # paths that did not fit; they stay in the review

    @property
    def tokens(self) -> int:
        return sum(estimate_tokens(m.content) for m in self.messages)


def triage_prompt(
    files: Sequence[DiffFile],
    budget: int,
    *,
    title: str = "",
    description: str = "",
    prompts: Prompts,
) -> TriagePrompt:
    """A cheap prompt listing each file with its size and hunk headers, within ``budget``."""
    pr = pr_fenced(title, description)
    system = prompts.render(PROMPT, part="triage_system")
    base = len(system) + len(
        prompts.render(PROMPT, part="triage_user", pr_fenced=pr, files_text="")
    )
    room = budget * CHARS_PER_TOKEN_WORST - base - 16
    rows: list[str] = []
    shown: list[str] = []
    for f in files:
        sections = sorted({h.section for h in f.hunks if h.section})
        row = f"{f.path} ({f.status.value}, +{f.added} -{f.removed})"
        if sections:
            row += ": " + "; ".join(sections)[:300]
        row = scrub_code(row)
        if len(row) + 1 > room:
            break
        room -= len(row) + 1
        rows.append(row)
        shown.append(f.path)
    user = prompts.render(
        PROMPT, part="triage_user", pr_fenced=pr, files_text=fence("\n".join(rows))
    )
    unshown = tuple(f.path for f in files[len(shown) :])
    return TriagePrompt((Message("system", system), Message("user", user)), tuple(shown), unshown)


def parse_triage(text: str, prompt: TriagePrompt) -> frozenset[str]:
    """The paths to review: those the model picked among those shown, plus all unshown ones."""
    value = extract_json(text, (list, dict), ReviewOutputError)
    if isinstance(value, dict):
        value = value.get("paths")
    if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
        raise ReviewOutputError("the triage answer is not a JSON array of paths")
    shown = set(prompt.shown)
    return frozenset({p.strip() for p in value if p.strip() in shown} | set(prompt.unshown))
