"""A pull request's diff bound to its head commit (from the API, else a local clone), and the
fingerprints of the findings tierbot posted on it before."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass

from bot.core.diff import DiffError, parse_diff
from bot.core.review import MARKER_PREFIX, decode_marker, file_head
from bot.ports.git import GitCommandFailed
from bot.ports.github import GitHubError, GitHubPort, PullInfo
from bot.service.context import Context

HEAD_CHARS = 4096  # of a file's start, for the "generated" check when the diff does not show it
# A push between reading the PR and reading its diff would anchor comments on the wrong diff.
DIFF_READS = 3


class DiffUnavailable(Exception):
    """Neither the API nor a local clone gives the pull request's diff."""


@dataclass(frozen=True)
class PullDiff:
    text: str
    head_sha: str
    source: str  # "the API" or "a local git diff"
    heads: Mapping[str, str]  # first lines of files whose start the diff does not show
    note: str = ""  # why the local fallback was used


def previous_fingerprints(gh: GitHubPort, repo: str, number: int) -> frozenset[str]:
    """Fingerprints of findings posted on this PR before, from the bot's summary comment.

    Only comments written by a bot account count, so a marker pasted by a person cannot
    silence findings.
    """
    found: set[str] = set()
    for comment in gh.comments(repo, number):
        if getattr(comment, "author_type", "") == "Bot" and MARKER_PREFIX in comment.body:
            found |= decode_marker(comment.body)
    return frozenset(found)


def fetch_diff(ctx: Context, gh: GitHubPort, repo: str, number: int, pull: PullInfo) -> PullDiff:
    """The PR's diff from the API; a local ``git diff`` of the fetched head when the API will
    not give it (GitHub refuses diffs over 300 files or 20,000 lines)."""
    head = pull.head_sha
    try:
        for _ in range(DIFF_READS):
            text = gh.pull_diff(repo, number)
            now = gh.pull(repo, number).head_sha
            if now == head:
                return PullDiff(text, head, "the API", {})
            head = now
        raise DiffUnavailable(f"the head of #{number} kept moving while its diff was read")
    except GitHubError as exc:
        note = f"the API did not give it ({exc.status or 'no answer'}: {exc.detail})"
    return local_diff(ctx, gh, repo, number, pull.base_ref, head, note)


def local_diff(
    ctx: Context, gh: GitHubPort, repo: str, number: int, base: str, head: str, note: str
) -> PullDiff:
    """``git diff origin/<base>...<head>`` in a fresh clone: what GitHub shows for the PR."""
    dest = ctx.scratch_dir(repo, f"review-{number}")
    try:
        gh.clone(repo, dest)
        if not ctx.git.has_commit(dest, head):
            raise DiffUnavailable(
                f"{note}; and the head commit {head[:12]} is not in a clone of {repo} "
                "(a pull request from a fork?)"
            )
        try:
            text = ctx.git.diff(dest, f"origin/{base}", head)
        except GitCommandFailed as exc:
            raise DiffUnavailable(f"{note}; and git diff failed: {exc}") from None
        try:
            files = parse_diff(text).files
        except DiffError:
            files = ()
        # The first lines of each file whose start the diff does not show.
        wanted = [f.path for f in files if not f.binary and f.hunks and file_head(f) is None]
        heads = ctx.git.file_heads(dest, head, wanted, HEAD_CHARS)
        return PullDiff(text, head, "a local git diff", heads, note)
    finally:
        shutil.rmtree(dest, ignore_errors=True)
