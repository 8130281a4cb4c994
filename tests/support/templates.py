"""Helpers for the template tier's tests: requests from a dict, edits, declines, real pytest."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from bot.core.templates import Declined, NothingToDo, TemplateRequest
from bot.core.types import EditSet


def request(task_type: str, text: str, repo: Mapping[str, str]) -> TemplateRequest:
    return TemplateRequest(task_type, text, tuple(repo), repo.get)


def edits_of(result: EditSet | Declined | NothingToDo) -> dict[str, str]:
    assert isinstance(result, EditSet), result
    contents = {edit.path: edit.content for edit in result.edits}
    assert all(isinstance(c, str) for c in contents.values())
    return {path: content for path, content in contents.items() if content is not None}


def declined(result: EditSet | Declined | NothingToDo) -> str:
    """The reason the template tier did not write: it declined, or there is nothing to do."""
    assert isinstance(result, Declined | NothingToDo), result
    return result.reason


def nothing_to_do(result: EditSet | Declined | NothingToDo) -> str:
    assert isinstance(result, NothingToDo), result
    return result.reason


def write(root: Path, files: Mapping[str, str]) -> None:
    for path, content in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)


def assert_keeps_lines(old: str, new: str) -> None:
    """Every line of ``old`` is still in ``new``, in the same order."""
    lines = new.split("\n")
    position = 0
    for line in old.rstrip("\n").split("\n"):
        assert line in lines[position:], line
        position = lines.index(line, position) + 1


_SUMMARY_LINE = re.compile(r"\d+ (?:passed|failed|skipped|errors?)\b.* in [\d.]+s")
_COUNT = re.compile(r"(\d+) (passed|failed|skipped|errors?|deselected|xfailed|xpassed|warnings?)")


def run_pytest(cwd: Path, *args: str, safe_path: bool = False) -> tuple[dict[str, int], str]:
    """Run real pytest in ``cwd``; return the counts of its summary line and its output.

    ``safe_path`` runs ``python -P``: the working directory is then not on ``sys.path``, as
    under a plain ``pytest`` command.
    """
    env = {k: v for k, v in os.environ.items() if k not in {"PYTEST_ADDOPTS", "PYTHONPATH"}}
    command = [sys.executable, *(["-P"] if safe_path else []), "-m", "pytest", "-q"]
    command += ["-p", "no:cacheprovider", "-W", "error", *args]
    proc = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    output = proc.stdout + proc.stderr
    lines = [line for line in proc.stdout.splitlines() if _SUMMARY_LINE.search(line)]
    assert lines, output
    counts = {
        kind.rstrip("s") if kind.endswith("s") and kind != "passed" else kind: int(n)
        for n, kind in _COUNT.findall(lines[-1])
    }
    return counts, output


CALC = '''"""A tiny calculator."""

PRECISION = 2


def add(a: int, b: int) -> int:
    return a + b


class Calculator:
    def __init__(self, precision: int = PRECISION) -> None:
        self.precision = precision

    def total(self, *values: float) -> float:
        return round(sum(values), self.precision)

    @property
    def digits(self) -> int:
        return self.precision
'''
