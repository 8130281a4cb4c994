"""The diff model: a unified diff read into files, hunks and the lines a review may comment on."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from unidiff.errors import UnidiffParseError
from unidiff.patch import PatchSet


class Side(StrEnum):
    """Which side of the diff a comment is on, in GitHub's words."""

    RIGHT = "RIGHT"  # the new file: added and context lines
    LEFT = "LEFT"  # the old file: removed and context lines


class FileStatus(StrEnum):
    ADDED = "added"
    MODIFIED = "modified"
    REMOVED = "removed"
    RENAMED = "renamed"


class DiffError(ValueError):
    """The text is not a unified diff unidiff can read."""


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "+", "-" or " "
    old: int | None  # line number in the old file (removed and context lines)
    new: int | None  # line number in the new file (added and context lines)
    text: str


@dataclass(frozen=True)
class Hunk:
    old_start: int
    old_length: int
    new_start: int
    new_length: int
    section: str
    lines: tuple[DiffLine, ...]

    @property
    def header(self) -> str:
        head = f"@@ -{self.old_start},{self.old_length} +{self.new_start},{self.new_length} @@"
        return f"{head} {self.section}" if self.section else head


@dataclass(frozen=True)
class DiffFile:
    path: str
    old_path: str | None  # None for an added file
    status: FileStatus
    binary: bool
    added: int
    removed: int
    hunks: tuple[Hunk, ...]
    # The lines GitHub accepts review comments on, with their text: every line of a hunk,
    # RIGHT by its new-file number (added, context), LEFT by its old-file number (removed,
    # context).
    right: Mapping[int, str] = field(repr=False)
    left: Mapping[int, str] = field(repr=False)

    def line_text(self, side: Side, line: int) -> str | None:
        """The text of a commentable line, or None when GitHub would refuse a comment there."""
        return (self.right if side is Side.RIGHT else self.left).get(line)

    def commentable(self, side: Side) -> frozenset[int]:
        return frozenset(self.right if side is Side.RIGHT else self.left)


@dataclass(frozen=True)
class Diff:
    files: tuple[DiffFile, ...]
    _index: Mapping[str, DiffFile] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {f.path: f for f in self.files})

    def file(self, path: str) -> DiffFile | None:
        return self._index.get(path)

    @property
    def added(self) -> int:
        return sum(f.added for f in self.files)

    @property
    def removed(self) -> int:
        return sum(f.removed for f in self.files)


def parse_diff(text: str) -> Diff:
    """Read a unified diff (``git diff`` or GitHub's ``.diff``) into per-file line maps."""
    if not text.strip():
        return Diff(())
    try:
        patch = PatchSet(text)
    except UnidiffParseError as exc:
        raise DiffError(f"not a unified diff unidiff can read: {exc}") from None
    files = []
    for patched in patch:
        hunks = []
        right: dict[int, str] = {}
        left: dict[int, str] = {}
        for raw in patched:
            lines = []
            for line in raw:
                # "\ No newline at end of file" markers are not lines of either file.
                if line.line_type not in ("+", "-", " "):
                    continue
                value = line.value.rstrip("\n").rstrip("\r")
                lines.append(
                    DiffLine(line.line_type, line.source_line_no, line.target_line_no, value)
                )
                if line.target_line_no is not None:
                    right[line.target_line_no] = value
                if line.source_line_no is not None:
                    left[line.source_line_no] = value
            hunks.append(
                Hunk(
                    raw.source_start,
                    raw.source_length,
                    raw.target_start,
                    raw.target_length,
                    raw.section_header.strip(),
                    tuple(lines),
                )
            )
        if patched.is_removed_file:
            status = FileStatus.REMOVED
        elif patched.is_added_file:
            status = FileStatus.ADDED
        elif patched.is_rename:
            status = FileStatus.RENAMED
        else:
            status = FileStatus.MODIFIED
        old = None if patched.source_file in (None, "/dev/null") else patched.source_file
        files.append(
            DiffFile(
                path=_unquote(patched.path),
                old_path=None if old is None else _strip_prefix(_unquote(old)),
                status=status,
                binary=bool(patched.is_binary_file),
                added=patched.added,
                removed=patched.removed,
                hunks=tuple(hunks),
                right=right,
                left=left,
            )
        )
    return Diff(tuple(files))


def _unquote(path: str) -> str:
    """Git quotes paths with unusual bytes C-style ("a/caf\\303\\251.py")."""
    if len(path) < 2 or not (path[0] == path[-1] == '"'):
        return path
    raw = path[1:-1].encode("latin-1", "backslashreplace").decode("unicode_escape")
    return raw.encode("latin-1", "replace").decode("utf-8", "replace")


def _strip_prefix(path: str) -> str:
    # The same prefixes unidiff strips from ``PatchedFile.path`` (a/, b/ and the mnemonic ones).
    return path[2:] if re.match(r"[abciow12]/", path) else path


def diff_from_patches(files: Iterable[Mapping[str, Any]]) -> str:
    """A unified diff from GitHub's "list pull request files" entries.

    Each entry has ``filename``, ``status`` and (unless binary or too large) ``patch`` with
    the hunks only; ``previous_filename`` for renames. An entry without ``patch`` becomes a
    binary-style entry, so it is listed as skipped rather than silently dropped.
    """
    out = []
    for entry in files:
        path = str(entry["filename"])
        old = str(entry.get("previous_filename") or path)
        status = entry.get("status")
        out.append(f"diff --git a/{old} b/{path}\n")
        if status == "added":
            out.append("new file mode 100644\n")
        elif status == "removed":
            out.append("deleted file mode 100644\n")
        patch = entry.get("patch")
        if not patch:
            if status != "renamed" or entry.get("changes"):
                out.append(f"Binary files a/{old} and b/{path} differ\n")
            else:
                out.append(f"rename from {old}\nrename to {path}\n")
            continue
        source = "/dev/null" if status == "added" else f"a/{old}"
        target = "/dev/null" if status == "removed" else f"b/{path}"
        out.append(f"--- {source}\n+++ {target}\n")
        out.append(patch if patch.endswith("\n") else patch + "\n")
    return "".join(out)
