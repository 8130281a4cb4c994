"""The diff packed into chunks whose prompts each fit the token budget."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from bot.core.budget import CHARS_PER_TOKEN_WORST, estimate_tokens
from bot.core.context import fence
from bot.core.diff import Diff, DiffFile, DiffLine, FileStatus, Hunk, parse_diff
from bot.core.prompts import Prompts
from bot.core.review.files import Skipped, Truncation, apply_triage, select_files
from bot.core.review.rules import (
    MAX_LINE_CHARS,
    PROMPT,
    pr_fenced,
    scrub_code,
)
from bot.core.types import Message
from bot.spec import RepoConfig, ReviewSpec, TierSpec

_SEPARATOR = "\n\n"
# Upper bounds used while packing, before the real numbers are known.
_PART_BOUND = " (part 99999 of 99999)"
_INDEX_BOUND = 99999


@dataclass(frozen=True)
class ChunkFile:
    """One file, or the hunks of it, in a chunk; ``hunks`` index ``DiffFile.hunks``."""

    path: str
    hunks: tuple[int, ...]
    part: str = ""  # "part 2 of 3" when the file was split across chunks


@dataclass(frozen=True)
class Chunk:
    index: int  # 1-based
    files: tuple[ChunkFile, ...]
    messages: tuple[Message, ...]
    tokens: int

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f.path for f in self.files))


@dataclass(frozen=True)
class ReviewPlan:
    diff: Diff
    chunks: tuple[Chunk, ...]
    skipped: tuple[Skipped, ...]
    truncated: tuple[Truncation, ...]
    budget: int

    @property
    def reviewed(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p for c in self.chunks for p in c.paths))


def chunk_budget(tier: TierSpec, spec: ReviewSpec) -> int:
    """Prompt tokens per review call: the tier's context less its output, or less if configured."""
    room = tier.context_tokens - tier.max_tokens
    if spec.chunk_tokens is not None:
        room = min(room, spec.chunk_tokens)
    if room <= 0:
        raise ValueError(
            f"tier {tier.name}: context_tokens {tier.context_tokens} leaves no room for a prompt "
            f"after max_tokens {tier.max_tokens}"
        )
    return room


def tokens_for(chunks: Iterable[Chunk]) -> int:
    """Prompt tokens the chunks send in all (the benchmark's measure)."""
    return sum(c.tokens for c in chunks)


def whole_diff_tokens(
    diff_text: str, *, title: str = "", description: str = "", prompts: Prompts
) -> int:
    """Prompt tokens of one call with the whole unfiltered diff: the baseline for ``tokens_for``."""
    messages = _messages(
        prompts, pr_fenced(title, description), fence(scrub_code(diff_text), "diff"), 1, 1
    )
    return sum(estimate_tokens(m.content) for m in messages)


def plan_review(
    diff: Diff | str,
    config: RepoConfig | ReviewSpec,
    budget: int,
    *,
    title: str = "",
    description: str = "",
    heads: Mapping[str, str] | None = None,
    triage: Collection[str] | None = None,
    prompts: Prompts,
) -> ReviewPlan:
    """Filter the diff and pack it into chunks whose prompts each fit ``budget`` tokens.

    Whole files go into chunks first-fit; a file larger than a chunk is split at hunk
    boundaries, and a hunk larger than a chunk is cut, with the cut reported. Chunks beyond
    ``review.max_chunks`` are not sent, and their files are reported. ``triage``, when given,
    is the set of paths to keep (see ``parse_triage``).
    """
    spec = config.review if isinstance(config, RepoConfig) else config
    if isinstance(diff, str):
        diff = parse_diff(diff)
    files, skipped = select_files(diff, spec, heads=heads)
    if triage is not None:
        files, not_picked = apply_triage(files, triage)
        skipped += not_picked
    pr = pr_fenced(title, description)
    base = sum(len(m.content) for m in _messages(prompts, pr, "", _INDEX_BOUND, _INDEX_BOUND))
    # Two messages, each estimated with its own ceiling: keep a few characters of slack.
    capacity = budget * CHARS_PER_TOKEN_WORST - base - 2 * CHARS_PER_TOKEN_WORST
    if capacity < 200:
        raise ValueError(
            f"a review prompt needs about {estimate_tokens('x' * base)} tokens before any diff; "
            f"the budget of {budget} leaves no room for it"
        )
    truncated: list[Truncation] = []
    pieces: list[_Piece] = []
    for f in files:
        found = _pieces(f, capacity - len(_SEPARATOR), truncated)
        if not found:
            skipped += (Skipped(f.path, f"does not fit a prompt of {budget} tokens at all"),)
        pieces.extend(found)
    bins = _pack(pieces, capacity)
    sent = bins[: spec.max_chunks]
    skipped += _drop_over_max(bins, spec.max_chunks, truncated)
    chunks = []
    for number, pieces_in in enumerate(sent, start=1):
        files_text = _SEPARATOR.join(p.block for p in pieces_in)
        messages = _messages(prompts, pr, files_text, number, len(sent))
        tokens = sum(estimate_tokens(m.content) for m in messages)
        if tokens > budget:  # the packing arithmetic is exact; this guards against its bugs
            raise AssertionError(f"chunk {number} is {tokens} tokens, over the budget {budget}")
        chunk_files = tuple(ChunkFile(p.path, p.hunks, p.part) for p in pieces_in)
        chunks.append(Chunk(number, chunk_files, messages, tokens))
    return ReviewPlan(diff, tuple(chunks), tuple(skipped), tuple(truncated), budget)


def _pack(pieces: Sequence[_Piece], capacity: int) -> list[list[_Piece]]:
    """First-fit: each piece into the first chunk with room for it."""
    bins: list[list[_Piece]] = []
    used: list[int] = []
    for piece in pieces:
        cost = len(piece.block) + len(_SEPARATOR)
        slot = next((i for i, u in enumerate(used) if u + cost <= capacity), None)
        if slot is None:
            bins.append([piece])
            used.append(cost)
        else:
            bins[slot].append(piece)
            used[slot] += cost
    return bins


def _drop_over_max(
    bins: Sequence[Sequence[_Piece]], max_chunks: int, truncated: list[Truncation]
) -> tuple[Skipped, ...]:
    """Report what the chunks past ``max_chunks`` held: cut parts of sent files, else skipped."""
    sent, dropped = bins[:max_chunks], bins[max_chunks:]
    dropped_pieces = [p for b in dropped for p in b]
    sent_paths = {p.path for b in sent for p in b}
    reason = f"over review.max_chunks ({max_chunks} model calls per review)"
    skipped: tuple[Skipped, ...] = ()
    for path in dict.fromkeys(p.path for p in dropped_pieces):
        if path in sent_paths:
            parts = ", ".join(p.part for p in dropped_pieces if p.path == path)
            truncated.append(Truncation(path, f"{parts} not reviewed: {reason}"))
        else:
            skipped += (Skipped(path, reason),)
    return skipped


@dataclass(frozen=True)
class _Piece:
    path: str
    hunks: tuple[int, ...]
    block: str
    part: str = ""


def _pieces(f: DiffFile, room: int, truncated: list[Truncation]) -> list[_Piece]:
    rendered = [_render_hunk(h) for h in f.hunks]
    cut_lines = sum(cut for _, cut in rendered)
    if cut_lines:
        truncated.append(
            Truncation(f.path, f"{cut_lines} long line(s) cut to {MAX_LINE_CHARS} characters")
        )
    texts = [text for text, _ in rendered]
    whole = _block(f, "".join(texts), "")
    if len(whole) <= room:
        return [_Piece(f.path, tuple(range(len(f.hunks))), whole)]

    # Too big for one chunk: split at hunk boundaries. The bound on a block's framing uses
    # the widest part label and the whole file's fence, which no piece's framing exceeds.
    framing = len(_block(f, "".join(texts), _PART_BOUND)) - sum(len(t) for t in texts)
    hunk_room = room - framing
    if hunk_room < max(len(h.header) for h in f.hunks) + 200:
        return []  # not even a hunk header and a few lines fit (an absurdly long path)
    groups: list[tuple[list[int], str]] = []
    current: list[int] = []
    size = 0
    for i, text in enumerate(texts):
        if len(text) > hunk_room:
            if current:
                groups.append((current, ""))
                current, size = [], 0
            cut_text, shown, total = _truncate_hunk(f.hunks[i], hunk_room)
            truncated.append(
                Truncation(
                    f.path,
                    f"hunk `{f.hunks[i].header}` cut to fit the token budget: "
                    f"{shown} of {total} lines reviewed",
                )
            )
            groups.append(([i], cut_text))
            continue
        if current and size + len(text) > hunk_room:
            groups.append((current, ""))
            current, size = [], 0
        current.append(i)
        size += len(text)
    if current:
        groups.append((current, ""))

    pieces = []
    for k, (indexes, cut_text) in enumerate(groups, start=1):
        part = f"part {k} of {len(groups)}"
        body = cut_text or "".join(texts[i] for i in indexes)
        pieces.append(_Piece(f.path, tuple(indexes), _block(f, body, f" ({part})"), part))
    return pieces


def _block(f: DiffFile, body: str, part: str) -> str:
    status = f.status.value
    if f.status is FileStatus.RENAMED and f.old_path:
        status = f"renamed from {f.old_path}"
    header = f"### {scrub_code(f.path)} ({status}, +{f.added} -{f.removed}){part}\n"
    return header + fence(body, "diff")


def _render_hunk(hunk: Hunk) -> tuple[str, int]:
    """The hunk as the model sees it: each line numbered on the side a comment would use."""
    out = [hunk.header]
    cut = 0
    width = _number_width(hunk)
    for line in hunk.lines:
        text, was_cut = _line_text(line, width)
        cut += was_cut
        out.append(text)
    return scrub_code("\n".join(out) + "\n"), cut


def _number_width(hunk: Hunk) -> int:
    # As wide as the hunk's largest number and no wider: the column is paid for on every line.
    return len(str(max(hunk.old_start + hunk.old_length, hunk.new_start + hunk.new_length)))


def _line_text(line: DiffLine, width: int) -> tuple[str, bool]:
    number = line.old if line.kind == "-" else line.new
    text = line.text
    cut = len(text) > MAX_LINE_CHARS
    if cut:
        text = text[:MAX_LINE_CHARS] + f" [... line cut at {MAX_LINE_CHARS} characters]"
    return f"{number:>{width}} {line.kind}{text}", cut


def _truncate_hunk(hunk: Hunk, room: int) -> tuple[str, int, int]:
    total = len(hunk.lines)
    # The note is sized for the largest counts it can show, so it always fits.
    note_bound = len(f"[... hunk cut here: {total} of {total} lines shown ...]\n")
    used = len(hunk.header) + 1 + note_bound
    kept: list[str] = []
    width = _number_width(hunk)
    for line in hunk.lines:
        text = scrub_code(_line_text(line, width)[0]) + "\n"
        if used + len(text) > room:
            break
        kept.append(text)
        used += len(text)
    note = f"[... hunk cut here: {len(kept)} of {total} lines shown ...]\n"
    return hunk.header + "\n" + "".join(kept) + note, len(kept), total


def _messages(
    prompts: Prompts, pr_fenced: str, files_text: str, index: int, total: int
) -> tuple[Message, ...]:
    system = prompts.render(PROMPT, part="system")
    user = prompts.render(
        PROMPT, part="user", pr_fenced=pr_fenced, files_text=files_text, index=index, total=total
    )
    return Message("system", system), Message("user", user)
