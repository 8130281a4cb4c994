"""The plain git pre-commit hook: both hooks on the staged files, unstaged changes set aside.

``hooks/pre-commit`` (installed by ``tierbot hooks install``) runs ``python -m
bot.hooks.git_hook``. It does what the pre-commit framework does around its hooks: the staged
files come from ``git diff --cached --name-only --diff-filter=ACM``, and when tracked files
also have unstaged changes those are saved as a binary patch and removed from the work tree
first, so the hooks read and edit exactly what is staged. Afterwards the patch goes back; if it
no longer applies on top of what the hooks wrote, the hooks' edits are rolled back (the
developer's unstaged work always wins) and the commit fails with a message saying so.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from bot.hooks.common import (
    EXIT_CHANGED,
    EXIT_OK,
    Echo,
    HookError,
    Repo,
    echo,
    is_python,
    repo_config,
    run_guarded,
)

HOOK = "tierbot"
HOOK_NAMES = ("tests", "stubs")  # bot.config.HOOK_NAMES: every hook runs unless configured


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="tierbot pre-commit hook",
        description="Run tierbot-tests and tierbot-stubs on the staged files (the plain git "
        "hook; with the pre-commit framework use the hooks of .pre-commit-hooks.yaml instead).",
    )
    parser.parse_args(argv)
    return run_guarded(HOOK, run)


def staged_files(repo: Repo) -> list[str]:
    out = repo.git("diff", "--cached", "--name-only", "--diff-filter=ACM", "--no-ext-diff", "-z")
    return [p for p in out.split("\0") if p]


def run(*, repo: Repo | None = None, out: Echo = echo) -> int:
    repo = repo or Repo.at_cwd()
    files = [f for f in staged_files(repo) if is_python(f)]
    if not files:
        return EXIT_OK
    config = repo_config(repo)
    run_hooks = config.hooks.run if config is not None else HOOK_NAMES
    if not run_hooks:
        return EXIT_OK
    from bot.hooks import stubs_hook, tests_hook

    codes: list[int] = []
    with unstaged_changes_set_aside(repo, out) as restored:
        # Stubs first: the tests hook then sees the filled bodies' final signatures.
        if "stubs" in run_hooks:
            codes.append(stubs_hook.run(files, repo=repo, config=config, out=out))
        if "tests" in run_hooks:
            codes.append(tests_hook.run(files, repo=repo, config=config, out=out))
    if not restored.clean:
        return EXIT_CHANGED
    return max(codes, default=EXIT_OK)


class Restored:
    """Whether the set-aside changes went back on top of the hooks' edits."""

    clean = True


def _git_bytes(repo: Repo, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    result = subprocess.run(
        ["git", *args], cwd=repo.root, env=dict(repo.env), capture_output=True, check=False
    )
    if check and result.returncode != 0:
        detail = result.stderr.decode("utf-8", "replace").strip().splitlines() or ["failed"]
        raise HookError(f"git {args[0]} failed: {detail[-1]}")
    return result


@contextmanager
def unstaged_changes_set_aside(repo: Repo, out: Echo) -> Iterator[Restored]:
    """Run the body with the work tree equal to the index for tracked files."""
    restored = Restored()
    tree = _git_bytes(repo, "write-tree").stdout.decode().strip()
    diff = _git_bytes(
        repo,
        "diff-index",
        "--ignore-submodules",
        "--binary",
        "--exit-code",
        "--no-color",
        "--no-ext-diff",
        tree,
        "--",
        check=False,
    )
    if diff.returncode == 0 or not diff.stdout.strip():
        yield restored
        return
    if diff.returncode != 1:
        raise HookError("git diff-index failed; nothing was changed")
    patch = repo.git_dir() / "tierbot" / f"unstaged-{int(time.time())}-{os.getpid()}.patch"
    patch.parent.mkdir(parents=True, exist_ok=True)
    patch.write_bytes(diff.stdout)
    out(f"{HOOK}: unstaged changes set aside in {patch} while the hooks run")
    with _intent_to_add_cleared(repo):
        _git_bytes(repo, "checkout", "--", ".")
        try:
            yield restored
        finally:
            if _apply(repo, patch):
                patch.unlink()
            else:
                restored.clean = False
                out(
                    f"{HOOK}: the hooks' edits conflict with your unstaged changes: the edits "
                    "were rolled back and your changes restored; stage or stash them, then "
                    "commit again"
                )
                _git_bytes(repo, "checkout", "--", ".")
                if _apply(repo, patch):
                    patch.unlink()
                else:
                    out(f"{HOOK}: could not restore your unstaged changes: they are in {patch}")


def _apply(repo: Repo, patch: Path) -> bool:
    for extra in ((), ("-c", "core.autocrlf=false")):
        args = [*extra, "apply", "--whitespace=nowarn", str(patch)]
        if _git_bytes(repo, *args, check=False).returncode == 0:
            return True
    return False


@contextmanager
def _intent_to_add_cleared(repo: Repo) -> Iterator[None]:
    # `git add -N` files have an empty index entry: `git checkout -- .` would empty them.
    out = _git_bytes(
        repo,
        "diff",
        "--no-ext-diff",
        "--ignore-submodules",
        "--diff-filter=A",
        "--name-only",
        "-z",
    ).stdout.decode("utf-8", "surrogateescape")
    paths = [p for p in out.split("\0") if p]
    if not paths:
        yield
        return
    _git_bytes(repo, "rm", "--cached", "--quiet", "--", *paths)
    try:
        yield
    finally:
        _git_bytes(repo, "add", "--intent-to-add", "--", *paths)


if __name__ == "__main__":
    raise SystemExit(main())
