"""Format generated code the way the repository does, touching only the lines tierbot wrote.

The generators already write black-style code (88 columns, double quotes); a repository that
configures black or ruff may want something else (another line length, single quotes). When it
does and the tool is installed, the tool formats the new files whole and, in files that held
the developer's code, only the line ranges tierbot wrote (``ruff format --range``, ``black
--line-ranges``): other code is never reformatted. A formatter that is missing or fails leaves
the generated text as it is, with a note.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.adapters.pathguard import PathGuard, UnsafePath
from bot.hooks.common import Echo

Range = tuple[int, int]  # 1-based, inclusive line numbers of the text tierbot wrote


@dataclass(frozen=True)
class Written:
    path: str  # repo-relative
    ranges: tuple[Range, ...] | None  # None: the whole file is tierbot's (a new file)


def added_ranges(old: str, new: str) -> tuple[Range, ...]:
    """The line ranges of ``new`` that are not in ``old`` (inserted or replaced lines)."""
    import difflib

    matcher = difflib.SequenceMatcher(a=old.split("\n"), b=new.split("\n"), autojunk=False)
    return tuple(
        (j1 + 1, j2)
        for tag, _i1, _i2, j1, j2 in matcher.get_opcodes()
        if tag in ("insert", "replace") and j2 > j1
    )


def configured_formatter(root: Path, setting: str) -> str | None:
    """``"black"``, ``"ruff"`` or ``None``: the setting, or for ``auto`` the repo's own config."""
    if setting in ("black", "ruff"):
        return setting
    if setting == "none":
        return None
    tool: dict[str, object] = {}
    try:
        data = tomllib.loads(PathGuard(root).read_bytes("pyproject.toml").decode("utf-8"))
        if isinstance(data.get("tool"), dict):
            tool = data["tool"]
    except (UnsafePath, OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        pass
    # black first: a repository with both usually lints with ruff and formats with black.
    if "black" in tool:
        return "black"
    if "ruff" in tool or (root / "ruff.toml").is_file() or (root / ".ruff.toml").is_file():
        return "ruff"
    return None


def _executable(name: str) -> str | None:
    # Beside this interpreter first (the hook's own environment), then the developer's PATH.
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return str(beside)
    return shutil.which(name)


def _commands(tool: str, exe: str, item: Written) -> list[list[str]]:
    if tool == "ruff":
        if item.ranges is None:
            return [[exe, "format", "--quiet", item.path]]
        # One range per call, bottom first, so earlier ranges keep their line numbers.
        return [
            [exe, "format", "--quiet", f"--range={start}-{end}", item.path]
            for start, end in sorted(item.ranges, reverse=True)
        ]
    ranges = [f"--line-ranges={start}-{end}" for start, end in item.ranges or ()]
    return [[exe, "--quiet", *ranges, item.path]]


def format_written(
    root: Path, written: Sequence[Written], *, setting: str, out: Echo, hook: str
) -> None:
    tool = configured_formatter(root, setting)
    if tool is None or not written:
        return
    exe = _executable(tool)
    if exe is None:
        if setting != "auto":
            out(f"{hook}: note: hooks.format is {tool}, but {tool} is not installed; not formatted")
        return
    for item in written:
        for command in _commands(tool, exe, item):
            try:
                result = subprocess.run(
                    command, cwd=root, capture_output=True, text=True, check=False, timeout=60
                )
            except (OSError, subprocess.TimeoutExpired) as exc:
                out(f"{hook}: note: {tool} did not run on {item.path}: {exc}")
                break
            if result.returncode != 0:
                detail = (result.stderr.strip().splitlines() or ["failed"])[-1]
                out(f"{hook}: note: {tool} could not format {item.path}: {detail}")
                break
