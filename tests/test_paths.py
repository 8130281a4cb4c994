"""Tests for bot.core.paths: glob matching, unsafe paths and the path policy."""

from __future__ import annotations

import pytest

from bot.config import PathPolicy
from bot.core.paths import Violation, check_paths, glob_match, path_problem
from bot.core.types import EditSet, FileEdit

# (pattern, path, matches)
GLOBS = {
    "doublestar-alone-matches-top-level": ("**", "a.py", True),
    "doublestar-alone-matches-deep": ("**", "a/b/c.py", True),
    "star-matches-top-level": ("*.py", "a.py", True),
    "star-does-not-cross-slash": ("*.py", "src/a.py", False),
    "star-in-dir-one-level": ("src/*.py", "src/a.py", True),
    "star-in-dir-not-deeper": ("src/*.py", "src/x/a.py", False),
    "star-matches-dotfile": ("*", ".env", True),
    "dir-doublestar-direct-child": ("src/**", "src/a.py", True),
    "dir-doublestar-deep": ("src/**", "src/x/y/a.py", True),
    "dir-doublestar-not-sibling-prefix": ("src/**", "srcx/a.py", False),
    "dir-doublestar-not-dir-itself": ("src/**", "src", False),
    "leading-doublestar-zero-dirs": ("**/test_*.py", "test_a.py", True),
    "leading-doublestar-many-dirs": ("**/test_*.py", "a/b/test_a.py", True),
    "leading-doublestar-basename-must-match": ("**/test_*.py", "tests/a_test.py", False),
    "middle-doublestar-zero-dirs": ("a/**/b.py", "a/b.py", True),
    "middle-doublestar-two-dirs": ("a/**/b.py", "a/x/y/b.py", True),
    "middle-doublestar-needs-separator": ("a/**/b.py", "ab.py", False),
    "question-one-char": ("?.py", "a.py", True),
    "question-not-two-chars": ("?.py", "ab.py", False),
    "question-not-slash": ("a?b", "a/b", False),
    "dot-is-literal": ("a.py", "axpy", False),
    "whole-path-not-basename": ("a.py", "src/a.py", False),
    "bracket-is-literal": ("[ab].py", "[ab].py", True),
    "bracket-is-not-a-class": ("[ab].py", "a.py", False),
    "double-star-inside-segment-is-star": ("a**b", "axxb", True),
    "double-star-inside-segment-no-slash": ("a**b", "a/b", False),
    "trailing-slash-means-under-dir": ("docs/", "docs/a/b.md", True),
    "leading-slash-ignored": ("/docs/**", "docs/a.md", True),
    "workflows-protected": (".github/workflows/**", ".github/workflows/ci.yml", True),
    "workflows-not-other-github-files": (".github/workflows/**", ".github/tierbot.yml", False),
    "case-sensitive": ("*.PY", "a.py", False),
}


@pytest.mark.parametrize(("pattern", "path", "expected"), GLOBS.values(), ids=GLOBS.keys())
def test_glob_match(pattern: str, path: str, expected: bool) -> None:
    assert glob_match(path, pattern) is expected


# (path, fragment of the problem, or None when safe)
UNSAFE = {
    "safe-nested": ("src/a.py", None),
    "safe-dotfile": (".github/tierbot.yml", None),
    "safe-dots-in-name": ("a..b/c...py", None),
    "safe-gitignore-is-not-dot-git": (".gitignore", None),
    "empty": ("", "empty path"),
    "absolute": ("/etc/passwd", "absolute path"),
    "windows-drive": ("C:/x.py", "absolute path"),
    "dotdot-leading": ("../x.py", "'..' segment"),
    "dotdot-inner": ("a/../../x.py", "'..' segment"),
    "backslash": ("a\\b.py", "backslash"),
    "dot-git": (".git/config", "points into .git/"),
    "dot-git-nested": ("vendor/lib/.git/HEAD", "points into .git/"),
    "dot-git-uppercase": (".GIT/config", "points into .git/"),
    "empty-segment": ("a//b.py", "not a normalized"),
    "dot-segment": ("a/./b.py", "not a normalized"),
    "trailing-slash": ("src/", "not a normalized"),
    "control-character": ("a\nb.py", "control character"),
}


@pytest.mark.parametrize(("path", "fragment"), UNSAFE.values(), ids=UNSAFE.keys())
def test_path_problem(path: str, fragment: str | None) -> None:
    problem = path_problem(path)
    if fragment is None:
        assert problem is None
    else:
        assert problem is not None and fragment in problem


DEFAULT = PathPolicy(
    allowed=("**",),
    protected=(".github/workflows/**", ".github/tierbot.yml", ".git/**"),
    max_files=3,
    max_file_bytes=100,
)
SRC_ONLY = PathPolicy(
    allowed=("src/**", "tests/test_*.py"), protected=(), max_files=20, max_file_bytes=100
)


def edits(*pairs: tuple[str, str | None]) -> EditSet:
    return EditSet(tuple(FileEdit(path, content) for path, content in pairs))


# (edits, policy, expected violations)
POLICIES = {
    "allowed": (edits(("src/a.py", "x\n")), DEFAULT, []),
    "protected-workflow": (
        edits(("src/a.py", "x\n"), (".github/workflows/ci.yml", "on: push\n")),
        DEFAULT,
        [
            Violation(
                ".github/workflows/ci.yml",
                ".github/workflows/ci.yml is protected by '.github/workflows/**'",
            )
        ],
    ),
    "protected-wins-over-allowed": (
        edits((".github/tierbot.yml", "x\n")),
        DEFAULT,
        [
            Violation(
                ".github/tierbot.yml", ".github/tierbot.yml is protected by '.github/tierbot.yml'"
            )
        ],
    ),
    "protected-applies-to-deletion": (
        edits((".github/workflows/ci.yml", None)),
        DEFAULT,
        [
            Violation(
                ".github/workflows/ci.yml",
                ".github/workflows/ci.yml is protected by '.github/workflows/**'",
            )
        ],
    ),
    "outside-allowed": (
        edits(("src/a.py", "x\n"), ("setup.py", "x\n"), ("tests/test_a.py", "x\n")),
        SRC_ONLY,
        [
            Violation(
                "setup.py",
                "setup.py is outside the allowed paths (allowed: 'src/**', 'tests/test_*.py')",
            )
        ],
    ),
    "too-many-files": (
        edits(("a", "x"), ("b", "x"), ("c", "x"), ("d", "x")),
        DEFAULT,
        [Violation("", "the edit changes 4 files; at most 3 may change at once")],
    ),
    "exactly-max-files-is-fine": (edits(("a", "x"), ("b", "x"), ("c", "x")), DEFAULT, []),
    "too-large-counts-utf8-bytes": (
        edits(("src/a.txt", "é" * 51)),
        DEFAULT,
        [Violation("src/a.txt", "src/a.txt is 102 bytes, over the limit of 100 bytes per file")],
    ),
    "exactly-max-bytes-is-fine": (edits(("src/a.txt", "é" * 50)), DEFAULT, []),
    "deletion-has-no-size": (edits(("src/a.txt", None)), DEFAULT, []),
    "unsafe-path-reported-alone": (
        edits(("../x.py", "x" * 500)),
        DEFAULT,
        [
            Violation(
                "../x.py", "../x.py contains a '..' segment; paths must stay inside the repository"
            )
        ],
    ),
    "dot-git-unsafe-even-if-allowed": (
        edits((".git/config", "x")),
        PathPolicy(allowed=("**",), protected=(), max_files=20, max_file_bytes=100),
        [Violation(".git/config", ".git/config points into .git/, which is never written")],
    ),
    "several-violations-in-edit-order": (
        edits(("setup.py", "x" * 101), ("src/ok.py", "x")),
        SRC_ONLY,
        [
            Violation(
                "setup.py",
                "setup.py is outside the allowed paths (allowed: 'src/**', 'tests/test_*.py')",
            ),
            Violation("setup.py", "setup.py is 101 bytes, over the limit of 100 bytes per file"),
        ],
    ),
    "nothing-allowed": (
        edits(("a.py", "x")),
        PathPolicy(allowed=(), protected=(), max_files=20, max_file_bytes=100),
        [Violation("a.py", "a.py is outside the allowed paths (allowed: none)")],
    ),
    "empty-edit-set": (edits(), DEFAULT, []),
}


@pytest.mark.parametrize(("edit_set", "policy", "expected"), POLICIES.values(), ids=POLICIES.keys())
def test_check_paths(edit_set: EditSet, policy: PathPolicy, expected: list[Violation]) -> None:
    assert check_paths(edit_set, policy) == expected
