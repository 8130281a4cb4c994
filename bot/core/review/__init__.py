"""Review a pull request's diff: what may be commented on, what is sent, and what gets posted.

Pure: the handler fetches the diff, calls the models and posts the review; this package turns
a unified diff into prompts that fit a token budget (``files``, ``chunks``), and the model's
findings (``findings``) into one GitHub review (``post``, ``summary``): inline comments on
valid diff lines, everything else in the summary.
"""

from bot.core.answers import extract_json
from bot.core.diff import (
    Diff,
    DiffError,
    DiffFile,
    DiffLine,
    FileStatus,
    Hunk,
    Side,
    diff_from_patches,
    parse_diff,
)
from bot.core.review.chunks import (
    Chunk,
    ChunkFile,
    ReviewPlan,
    chunk_budget,
    plan_review,
    tokens_for,
    whole_diff_tokens,
)
from bot.core.review.files import (
    Skipped,
    TriagePrompt,
    Truncation,
    apply_triage,
    file_head,
    generated_marker,
    parse_triage,
    select_files,
    triage_prompt,
)
from bot.core.review.findings import (
    Finding,
    decode_marker,
    drop_posted,
    encode_marker,
    fingerprint,
    normalize_severity,
    parse_findings,
)
from bot.core.review.post import ReviewComment, ReviewOutput, build_review
from bot.core.review.rules import (
    COST_PLACEHOLDER,
    MARKER,
    MARKER_PREFIX,
    MAX_SUMMARY_CHARS,
    PROMPT,
    SEVERITY_ALIASES,
    UNKNOWN_SEVERITY,
    ReviewOutputError,
)

__all__ = [
    "COST_PLACEHOLDER",
    "MARKER",
    "MARKER_PREFIX",
    "MAX_SUMMARY_CHARS",
    "PROMPT",
    "SEVERITY_ALIASES",
    "UNKNOWN_SEVERITY",
    "Chunk",
    "ChunkFile",
    "Diff",
    "DiffError",
    "DiffFile",
    "DiffLine",
    "FileStatus",
    "Finding",
    "Hunk",
    "ReviewComment",
    "ReviewOutput",
    "ReviewOutputError",
    "ReviewPlan",
    "Side",
    "Skipped",
    "TriagePrompt",
    "Truncation",
    "apply_triage",
    "build_review",
    "chunk_budget",
    "decode_marker",
    "diff_from_patches",
    "drop_posted",
    "encode_marker",
    "extract_json",
    "file_head",
    "fingerprint",
    "generated_marker",
    "normalize_severity",
    "parse_diff",
    "parse_findings",
    "parse_triage",
    "plan_review",
    "select_files",
    "tokens_for",
    "triage_prompt",
    "whole_diff_tokens",
]
