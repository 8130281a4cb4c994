"""git commands of the pull request services: a clone's diff and file starts, a proposed diff
applied in a scratch repository."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from bot.adapters.pathguard import PathGuard, UnsafePath
from bot.ports.git import GitCommandFailed, PatchError


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-C", str(root), *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        check=False,
    )


class CliGit:
    """``LocalGit`` through the git command line."""

    def has_commit(self, root: Path, sha: str) -> bool:
        return _git(root, "cat-file", "-e", f"{sha}^{{commit}}").returncode == 0

    def diff(self, root: Path, base: str, head: str) -> str:
        done = _git(root, "diff", "--no-color", "--no-ext-diff", "-M", f"{base}...{head}")
        if done.returncode != 0:
            raise GitCommandFailed(done.stderr.strip()[:300])
        return done.stdout

    def file_heads(self, root: Path, sha: str, paths: Sequence[str], limit: int) -> dict[str, str]:
        """In one ``git cat-file --batch`` call."""
        wanted = [p for p in paths if "\n" not in p]
        if not wanted:
            return {}
        done = subprocess.run(
            ["git", "-C", str(root), "cat-file", "--batch"],
            input="".join(f"{sha}:{p}\n" for p in wanted).encode(),
            capture_output=True,
            check=False,
        )
        out, heads, at = done.stdout, {}, 0
        for path in wanted:
            end = out.find(b"\n", at)
            if end < 0:
                break
            header = out[at:end].split()
            at = end + 1
            if len(header) != 3 or not header[2].isdigit():
                continue  # "<object> missing"
            size = int(header[2])
            heads[path] = out[at : at + min(size, limit)].decode("utf-8", "replace")
            at += size + 1
        return heads

    def apply_patch(
        self, diff: str, files: Mapping[str, str], paths: Sequence[str]
    ) -> dict[str, str | None]:
        with tempfile.TemporaryDirectory(prefix="tierbot-fix-") as tmp:
            scratch = Path(tmp)
            subprocess.run(["git", "init", "-q", str(scratch)], check=True, capture_output=True)
            # The guard, both ways: no path outside the scratch copy or into its .git is
            # written, and a link the diff creates is never read back through.
            guard = PathGuard(scratch)
            for path, text in files.items():
                try:
                    guard.write_text(path, text)
                except (UnsafePath, OSError):
                    raise PatchError("copy", "", path) from None
            patch = scratch / ".tierbot-fix.diff"
            patch.write_text(diff if diff.endswith("\n") else diff + "\n", "utf-8")
            done = _git(scratch, "apply", "--recount", "--whitespace=nowarn", patch.name)
            if done.returncode != 0:
                raise PatchError("apply", done.stderr)
            out: dict[str, str | None] = {}
            for path in paths:
                try:
                    mode = guard.mode(path)
                    out[path] = None if mode is None else guard.read_bytes(path).decode("utf-8")
                except (UnsafePath, OSError, UnicodeDecodeError) as exc:
                    why = exc.reason if isinstance(exc, UnsafePath) else "it is not UTF-8 text"
                    raise PatchError("unusable", why, path) from None
            return out
