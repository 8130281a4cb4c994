"""The fix commit of a diagnosis: pushed only to the PR's own ``tierbot/*`` branch, only when its
task is not running, only inside ``paths`` and only when it parses."""

from __future__ import annotations

import shutil
from collections.abc import Callable

from bot.actions import Commit, Push
from bot.config import RepoConfig, TierSpec
from bot.core.diagnosis import (
    Diagnosis,
    Fix,
)
from bot.core.diff import DiffError, parse_diff
from bot.core.edits import check_syntax
from bot.core.logs import scrub
from bot.core.paths import check_paths
from bot.core.types import EditSet, FileEdit, Status
from bot.events import TASK_BRANCH, RepoRef
from bot.ports import WorkspaceError
from bot.ports.git import PatchError
from bot.ports.github import GitHubPort, PullInfo
from bot.service.context import Context
from bot.service.gate import comment_detail


def push_fix(
    ctx: Context,
    gh: GitHubPort,
    repo_ref: RepoRef,
    pull: PullInfo,
    config: RepoConfig,
    diagnosis: Diagnosis,
    tier: TierSpec,
) -> tuple[str | None, str]:
    """Commit and push the proposed fix on the PR's own tierbot branch: (sha, note)."""
    repo, branch = repo_ref.full_name, pull.head_ref
    fix = diagnosis.fix
    assert fix is not None
    if not branch.startswith("tierbot/"):
        return None, (
            f"The fix was not committed: `{scrub(branch)}` is not one of tierbot's branches "
            "(tierbot pushes only to `tierbot/*`)."
        )
    match = TASK_BRANCH.match(branch)
    item = ctx.store.get(repo, int(match.group(1))) if match else None
    if item is not None and item.status == Status.RUNNING:
        return None, (
            f"The fix was not committed: the task of #{item.issue} is still running on "
            f"`{branch}`, and its next attempt would race the fix."
        )
    dest = ctx.scratch_dir(repo, f"debug-{pull.number}")
    try:
        workspace = gh.checkout(repo, dest, branch=branch, base=pull.base_ref)
        if workspace.head_sha() != pull.head_sha:
            return None, (
                f"The fix was not committed: `{branch}` of {repo} is not at the commit that "
                "was diagnosed (a fork, or a newer push)."
            )
        edits = checked_edits(fix, workspace.read, ctx.git.apply_patch, config)
        if isinstance(edits, str):
            return None, f"The fix was not committed: {edits}."
        cause = comment_detail(diagnosis.likely_cause)
        commit = Commit(
            edits,
            message=(
                f"Fix the red CI of #{pull.number}\n\n{cause}\n\n"
                f"Proposed by the {tier.name} tier of tierbot."
            ),
            trailers={"Tierbot-Tier": tier.name, "Tierbot-Task": f"pr-{pull.number}-debug"},
        )
        with ctx.executor.on(workspace):
            applied = ctx.executor.apply(commit)
            ctx.executor.apply(Push(branch))
    except WorkspaceError as exc:
        return None, f"The fix was not committed: {comment_detail(str(exc))}."
    finally:
        shutil.rmtree(dest, ignore_errors=True)
    sha = applied.commit_sha
    assert sha is not None  # the diagnosis runs only when the executor writes
    return sha, f"Pushed the fix to `{branch}` as `{sha[:7]}`; CI runs on it."


def checked_edits(
    fix: Fix, read: Callable[[str], str | None], patch: Patch, config: RepoConfig
) -> EditSet | str:
    """The fix's edits once the path policy and a syntax check pass, or why they do not."""
    edits = fix_edits(fix, read, patch)
    if isinstance(edits, str):
        return edits
    violations = check_paths(edits, config.paths)
    if violations:
        return comment_detail("; ".join(v.reason for v in violations))
    errors = check_syntax(edits)
    if errors:
        return f"it does not parse ({comment_detail(errors[0])})"
    return edits


Patch = Callable[[str, dict[str, str], list[str]], dict[str, str | None]]


def fix_edits(fix: Fix, read: Callable[[str], str | None], patch: Patch) -> EditSet | str:
    """The fix as whole-file edits, or why it cannot be applied; ``patch`` applies a diff."""
    if fix.path is not None and fix.line is not None and fix.suggestion is not None:
        text = read(fix.path)
        if text is None:
            return f"`{comment_detail(fix.path)}` is not a text file of the branch"
        lines = text.splitlines(keepends=True)
        if fix.line > len(lines):
            return f"`{comment_detail(fix.path)}` has no line {fix.line}"
        old = lines[fix.line - 1]
        ending = old[len(old.rstrip("\r\n")) :] or "\n"
        new = [line + ending for line in fix.suggestion.split("\n")]
        lines[fix.line - 1 : fix.line] = new
        return EditSet((FileEdit(fix.path, "".join(lines)),))
    if fix.diff is not None:
        return diff_edits(fix.diff, read, patch)
    return "the fix is described in prose, not as a change"


def diff_edits(diff: str, read: Callable[[str], str | None], patch: Patch) -> EditSet | str:
    """Apply the model's unified diff to a scratch copy of the files it touches."""
    try:
        paths = [f.path for f in parse_diff(diff).files]
    except DiffError:
        return "the proposed diff is not a unified diff"
    if not paths:
        return "the proposed diff changes nothing"
    files = {p: text for p in paths if (text := read(p)) is not None}
    try:
        result = patch(diff, files, paths)
    except PatchError as exc:
        where = comment_detail(exc.path or "")
        if exc.kind == "copy":
            return f"`{where}` cannot be copied for the fix"
        if exc.kind == "apply":
            return f"the proposed diff does not apply ({comment_detail(exc.detail)})"
        return f"the proposed diff leaves `{where}` unusable ({exc.detail})"
    return EditSet(tuple(FileEdit(p, result[p]) for p in paths))
