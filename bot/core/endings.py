"""How a task ends, said plainly: empty tasks, a base already red, and the detail a status shows.

Pure. The engine asks these before the first tier runs (an empty task, a red base: nothing is
charged) and when it writes the last line, so the line names the real cause: the failing tests
of a red check, the reason the free tier declined.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

from bot.core.suite.results import failure_line
from bot.core.types import CheckResult

_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
_WORD = re.compile(r"\w")
# pytest's exit status 5 with its "no tests ran" line: a repository with no tests yet, which is
# what a tests task is for, not a failure of the base.
PYTEST_NO_TESTS = 5
_NO_TESTS_RAN = re.compile(r"\bno tests ran\b")
MAX_DETAIL = 400
# Task types whose work never makes a failing check pass (new tests, docs, config, a
# behaviour-preserving refactor): their check can only judge them on a green base. The other
# types may be asked to make a failing test pass, so a red base is their specification.
NEEDS_GREEN_BASE = frozenset({"tests", "docs", "config", "refactor"})


class Attempted(Protocol):
    """What the ending reads of one attempt (the engine's attempt summary)."""

    @property
    def tier(self) -> str: ...

    @property
    def outcome(self) -> str: ...

    @property
    def detail(self) -> str: ...


def empty_task(text: str) -> str | None:
    """Why the task text asks for nothing (None when it asks for something)."""
    visible = _HTML_COMMENT.sub("", text)
    if _WORD.search(visible):
        return None
    return "the task is empty: say what to do, e.g. 'Add tests for src/pkg/module.py'"


def short_sha(sha: str) -> str:
    return sha[:10]


def check_detail(check: CheckResult) -> str:
    """A check's result in one line; a red one with its failing tests or error lines."""
    if not check.command:
        return "no check configured"
    if check.timed_out:
        head = f"`{check.command}` timed out after {check.duration_s:.0f} s"
    elif check.passed:
        return f"`{check.command}` passed in {check.duration_s:.1f} s"
    else:
        head = f"`{check.command}` failed (exit {check.exit_code}) in {check.duration_s:.1f} s"
    found = failure_line(check.output)
    return f"{head}: {found}" if found else head


def base_red(task_type: str, base_sha: str, check: CheckResult) -> str | None:
    """The reason to stop before any tier runs: the check fails on the base commit, and the
    task is of a type whose work cannot be what turns it green."""
    if check.passed or task_type not in NEEDS_GREEN_BASE:
        return None
    if check.exit_code == PYTEST_NO_TESTS and _NO_TESTS_RAN.search(check.output):
        return None
    found = failure_line(check.output) or check_detail(check)
    return f"the check already fails on {short_sha(base_sha)}: {found}"


def status_detail(status: str, reason: str, attempts: Sequence[Attempted]) -> str:
    """What the status line adds to its reason: why the free tier declined, and for a task
    that did not end done, what its last attempt saw (a red check's failing tests)."""
    notes: list[str] = []
    for attempt in attempts:
        if attempt.outcome == "declined" and attempt.detail:
            note = f"{attempt.tier} declined: {attempt.detail}"
            if note not in notes and attempt.detail not in reason:
                notes.append(note)
    if status != "done" and attempts:
        last = attempts[-1]
        if last.outcome != "declined" and last.detail and last.detail not in reason:
            notes.append(f"last: {last.detail}")
    # One line: a hook's or a check's several lines are joined.
    text = " | ".join(line.strip() for line in "; ".join(notes).splitlines() if line.strip())
    return text if len(text) <= MAX_DETAIL else text[: MAX_DETAIL - 3] + "..."
