"""Path policy: which repository paths an edit may touch, by glob, safety, size and count."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from bot.core.types import EditSet
from bot.spec import PathPolicy


@dataclass(frozen=True)
class Violation:
    """One reason an edit set may not be committed; ``path`` is empty for set-wide limits."""

    path: str
    reason: str


_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def path_problem(path: str) -> str | None:
    """Why ``path`` is not a safe repo-relative file path, or ``None`` if it is.

    Checked before any glob: a path that escapes the repository or writes into ``.git``
    must be refused whatever the configured globs say.
    """
    if not path:
        return "an empty path"
    if _CONTROL.search(path):
        return f"{path!r} contains a control character"
    if "\\" in path:
        return f"{path} contains a backslash; use '/' between directories"
    if path.startswith("/") or _DRIVE.match(path):
        return f"{path} is an absolute path; give a path relative to the repository root"
    segments = path.split("/")
    if ".." in segments:
        return f"{path} contains a '..' segment; paths must stay inside the repository"
    # lower(): on case-insensitive filesystems (macOS, Windows) ".GIT" is the same directory.
    if any(segment.lower() == ".git" for segment in segments):
        return f"{path} points into .git/, which is never written"
    if any(segment in ("", ".") for segment in segments):
        return f"{path} is not a normalized file path (empty or '.' segment)"
    return None


def glob_match(path: str, pattern: str) -> bool:
    """Match a repo-relative path against a glob; the pattern must match the whole path.

    ``*`` matches within one path segment, ``?`` one character other than ``/``, and a
    ``**`` segment any number of directories (including none): ``**`` alone matches
    everything, ``dir/**`` everything under ``dir``, ``**/x.py`` ``x.py`` at any depth.
    A trailing ``/`` means everything under that directory and a leading ``/`` is ignored
    (every pattern is already anchored at the repository root). ``[`` is a literal character.
    """
    return _compile(pattern).fullmatch(path) is not None


@functools.lru_cache(maxsize=512)
def _compile(pattern: str) -> re.Pattern[str]:
    pattern = pattern.lstrip("/")
    if pattern.endswith("/"):
        pattern += "**"
    segments = pattern.split("/")
    regex = []
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == "**":
            regex.append(".*" if last else "(?:[^/]+/)*")
        else:
            regex.append(_segment_regex(segment) + ("" if last else "/"))
    return re.compile("".join(regex))


def _segment_regex(segment: str) -> str:
    out = []
    for char in segment:
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        else:
            out.append(re.escape(char))
    return "".join(out)


def check_paths(edits: EditSet, policy: PathPolicy) -> list[Violation]:
    """Every reason ``edits`` breaks ``policy``, in edit order; an empty list means allowed."""
    violations: list[Violation] = []
    if len(edits.edits) > policy.max_files:
        violations.append(
            Violation(
                "",
                f"the edit changes {len(edits.edits)} files; "
                f"at most {policy.max_files} may change at once",
            )
        )
    for edit in edits.edits:
        path = edit.path
        problem = path_problem(path)
        if problem is not None:
            violations.append(Violation(path, problem))
            continue
        protected_by = next((g for g in policy.protected if glob_match(path, g)), None)
        if protected_by is not None:
            violations.append(Violation(path, f"{path} is protected by {protected_by!r}"))
        elif not any(glob_match(path, g) for g in policy.allowed):
            allowed = ", ".join(repr(g) for g in policy.allowed) or "none"
            violations.append(
                Violation(path, f"{path} is outside the allowed paths (allowed: {allowed})")
            )
        if edit.content is not None:
            size = len(edit.content.encode("utf-8"))
            if size > policy.max_file_bytes:
                violations.append(
                    Violation(
                        path,
                        f"{path} is {size} bytes, over the limit of "
                        f"{policy.max_file_bytes} bytes per file",
                    )
                )
    return violations
