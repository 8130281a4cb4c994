"""The git commands the pull request services need beyond a workspace: a clone's diff and
objects, and a proposed diff applied in a scratch copy."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol


class GitCommandFailed(Exception):
    """A git command failed; the message is git's own last words."""


class PatchError(Exception):
    """A proposed diff could not be turned into files: ``kind`` is ``copy`` (a file could not
    be copied into the scratch copy), ``apply`` (``git apply`` refused it) or ``unusable`` (a
    result file cannot be read back); ``path`` names the file where there is one."""

    def __init__(self, kind: str, detail: str, path: str | None = None) -> None:
        super().__init__(f"{kind}: {path or ''} {detail}")
        self.kind = kind
        self.path = path
        self.detail = detail


class LocalGit(Protocol):
    def has_commit(self, root: Path, sha: str) -> bool: ...

    def diff(self, root: Path, base: str, head: str) -> str:
        """``git diff <base>...<head>`` as GitHub shows a pull request; GitCommandFailed."""
        ...

    def file_heads(self, root: Path, sha: str, paths: Sequence[str], limit: int) -> dict[str, str]:
        """The first ``limit`` characters of each path at ``sha`` that exists there."""
        ...

    def apply_patch(
        self, diff: str, files: Mapping[str, str], paths: Sequence[str]
    ) -> dict[str, str | None]:
        """``paths`` after ``git apply`` of ``diff`` onto ``files`` in a scratch repository
        (None: deleted); PatchError when it cannot be done."""
        ...
