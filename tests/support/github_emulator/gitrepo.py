"""Plumbing on the emulator's bare repositories: refs, commits written without a worktree, diffs."""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from unidiff.patch import PatchSet

ZERO_SHA = "0" * 40

# The emulator's git must not see the caller's repository or identity settings.
_SCRUBBED = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY")


def git_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
    env.update(
        {
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_AUTHOR_NAME": env.get("GIT_AUTHOR_NAME", "Emulator"),
            "GIT_AUTHOR_EMAIL": env.get("GIT_AUTHOR_EMAIL", "emulator@example.com"),
            "GIT_COMMITTER_NAME": env.get("GIT_COMMITTER_NAME", "Emulator"),
            "GIT_COMMITTER_EMAIL": env.get("GIT_COMMITTER_EMAIL", "emulator@example.com"),
        }
    )
    env.update(extra or {})
    return env


def git(
    repo: Path,
    *args: str,
    input: bytes | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
) -> str:
    out = subprocess.run(
        ["git", "--git-dir", str(repo), *args],
        input=input,
        capture_output=True,
        env=git_env(env),
        check=False,
    )
    if check and out.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {out.stderr.decode(errors='replace')}")
    return out.stdout.decode(errors="replace")


def init_bare(path: Path, default_branch: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["git", "init", "-q", "--bare", "-b", default_branch, str(path)],
        check=True,
        env=git_env(),
        capture_output=True,
    )
    # Pushes over HTTP must be allowed to update refs without a reflog surprise.
    git(path, "config", "core.logAllRefUpdates", "true")


def resolve(repo: Path, ref: str) -> str | None:
    """The commit sha ``ref`` names, or None."""
    out = git(repo, "rev-parse", "--verify", "-q", f"{ref}^{{commit}}", check=False).strip()
    return out or None


def refs(repo: Path) -> dict[str, str]:
    """Every ref (``refs/heads/main``...) with the object it points at."""
    out = git(repo, "for-each-ref", "--format=%(refname) %(objectname)")
    pairs = (line.split(" ", 1) for line in out.splitlines() if line.strip())
    return {name: sha for name, sha in pairs}


def update_ref(repo: Path, ref: str, sha: str, old: str | None = None) -> None:
    args = ["update-ref", ref, sha] + ([old] if old is not None else [])
    git(repo, *args)


def commit_files(
    repo: Path,
    branch: str,
    files: Mapping[str, str | bytes | None],
    message: str,
    *,
    author: tuple[str, str] = ("Emulator", "emulator@example.com"),
    start: str | None = None,
) -> str:
    """Commit ``files`` (None deletes) on ``branch``; a new branch starts at ``start``."""
    old = resolve(repo, f"refs/heads/{branch}")
    parent = old or (resolve(repo, start) if start else None)
    with tempfile.TemporaryDirectory(prefix="emu-index-") as tmp:
        env = {
            "GIT_INDEX_FILE": str(Path(tmp) / "index"),
            "GIT_AUTHOR_NAME": author[0],
            "GIT_AUTHOR_EMAIL": author[1],
            "GIT_COMMITTER_NAME": author[0],
            "GIT_COMMITTER_EMAIL": author[1],
        }
        if parent:
            git(repo, "read-tree", parent, env=env)
        for path, content in files.items():
            if content is None:
                git(repo, "update-index", "--force-remove", path, env=env)
                continue
            data = content.encode() if isinstance(content, str) else content
            blob = git(repo, "hash-object", "-w", "--stdin", input=data).strip()
            git(repo, "update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", env=env)
        tree = git(repo, "write-tree", env=env).strip()
        parents = ["-p", parent] if parent else []
        sha = git(repo, "commit-tree", tree, *parents, "-m", message, env=env).strip()
    update_ref(repo, f"refs/heads/{branch}", sha, old or ZERO_SHA)
    return sha


def read_file(repo: Path, sha: str, path: str) -> bytes | None:
    out = subprocess.run(
        ["git", "--git-dir", str(repo), "cat-file", "blob", f"{sha}:{path}"],
        capture_output=True,
        env=git_env(),
        check=False,
    )
    return out.stdout if out.returncode == 0 else None


def blob_sha(repo: Path, sha: str, path: str) -> str | None:
    out = git(repo, "rev-parse", "--verify", "-q", f"{sha}:{path}", check=False).strip()
    return out or None


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    tree: str
    message: str
    author_name: str
    author_email: str
    author_date: str
    committer_name: str
    committer_email: str
    committer_date: str
    parents: tuple[str, ...]


def commit_info(repo: Path, sha: str) -> CommitInfo:
    fmt = "%H%x00%T%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%P%x00%B"
    fields = git(repo, "show", "-s", f"--format={fmt}", sha).split("\x00")
    return CommitInfo(
        sha=fields[0],
        tree=fields[1],
        author_name=fields[2],
        author_email=fields[3],
        author_date=fields[4],
        committer_name=fields[5],
        committer_email=fields[6],
        committer_date=fields[7],
        parents=tuple(fields[8].split()),
        message=fields[9].rstrip("\n"),
    )


def merge_commit(
    repo: Path, base: str, head: str, message: str, author: tuple[str, str]
) -> str | None:
    """A merge commit of ``head`` into ``base`` (not moved), or None on a conflict."""
    out = subprocess.run(
        ["git", "--git-dir", str(repo), "merge-tree", "--write-tree", base, head],
        capture_output=True,
        env=git_env(),
        check=False,
    )
    if out.returncode != 0:
        return None
    tree = out.stdout.decode().split("\n", 1)[0].strip()
    env = {
        "GIT_AUTHOR_NAME": author[0],
        "GIT_AUTHOR_EMAIL": author[1],
        "GIT_COMMITTER_NAME": author[0],
        "GIT_COMMITTER_EMAIL": author[1],
    }
    return git(repo, "commit-tree", tree, "-p", base, "-p", head, "-m", message, env=env).strip()


def merge_base(repo: Path, a: str, b: str) -> str | None:
    return git(repo, "merge-base", a, b, check=False).strip() or None


def diff(repo: Path, base: str, head: str) -> str:
    """The pull-request diff: from the merge base of ``base`` and ``head`` to ``head``."""
    return git(repo, "diff", "--no-color", "--no-ext-diff", "-M", f"{base}...{head}")


def patch_set(diff_text: str) -> PatchSet:
    return PatchSet(diff_text)


def count_commits(repo: Path, base: str, head: str) -> int:
    return int(git(repo, "rev-list", "--count", f"{base}..{head}").strip() or 0)


def clone_checkout(repo: Path, sha: str, dest: Path) -> None:
    """A working copy of ``sha`` in ``dest`` (a real git checkout, as actions/checkout makes)."""
    env = git_env()
    subprocess.run(
        ["git", "clone", "-q", "--shared", "--no-checkout", str(repo), str(dest)],
        check=True,
        capture_output=True,
        env=env,
    )
    subprocess.run(
        ["git", "-C", str(dest), "checkout", "-q", "--detach", sha],
        check=True,
        capture_output=True,
        env=env,
    )
