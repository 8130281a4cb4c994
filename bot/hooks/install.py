"""``tierbot hooks install``: put the plain git pre-commit hook in a repository's hooks dir.

The script is ``hooks/pre-commit`` of tierbot's repository (kept identical to
:func:`render` with no interpreter; a test checks). Installed, it records the Python that ran
the install, so the hook uses the environment tierbot is installed in even when that
environment is not activated at commit time. The hooks directory is git's own answer
(``git rev-parse --git-path hooks``), which honours ``core.hooksPath``. An existing hook that
is not tierbot's is never replaced without ``--force``, and then it is kept beside the new one.
"""

from __future__ import annotations

import os
import shlex
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

SIGNATURE = "# tierbot-pre-commit-hook"
EXIT_REFUSED = 2

_SCRIPT = """\
#!/bin/sh
{signature}
# tierbot's plain git pre-commit hook: for the staged Python files it writes skeleton tests
# for public names no test mentions and fills stubs marked '# tierbot: stub' (docs/hooks.md).
# When it writes, it lists the files and stops the commit so you can review and stage them.
# Skip it once with `git commit --no-verify`.
#
# Which Python runs tierbot: $TIERBOT_PYTHON if set, else the interpreter that ran
# `tierbot hooks install` (INSTALL_PYTHON below), else python3 from PATH.
INSTALL_PYTHON={python}

if [ -n "${{TIERBOT_PYTHON:-}}" ]; then
    PYTHON=$TIERBOT_PYTHON
elif [ -n "$INSTALL_PYTHON" ] && [ -x "$INSTALL_PYTHON" ]; then
    PYTHON=$INSTALL_PYTHON
else
    PYTHON=python3
    if ! "$PYTHON" -P -c 'import bot.hooks.git_hook' >/dev/null 2>&1; then
        echo "tierbot: cannot find tierbot's Python; set TIERBOT_PYTHON or run" \\
            "'tierbot hooks install --force' again (skip once: git commit --no-verify)" >&2
        exit 1
    fi
fi
# -P: never import a 'bot' package from the repository being committed instead of tierbot.
exec "$PYTHON" -P -m bot.hooks.git_hook "$@"
"""


def render(python: str | None) -> str:
    """The hook script; ``python`` is the interpreter to prefer (None: look it up at run time)."""
    return _SCRIPT.format(signature=SIGNATURE, python=shlex.quote(python or ""))


@dataclass(frozen=True)
class Installed:
    code: int  # 0 installed (or already there), 2 refused
    message: str


def hooks_dir(repo: Path) -> tuple[Path, Path]:
    """(work tree root, hooks directory) of the repository around ``repo``."""

    def git(*args: str, cwd: Path) -> str:
        result = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise ValueError(f"{repo} is not inside a git work tree")
        return result.stdout.strip()

    root = Path(git("rev-parse", "--show-toplevel", cwd=repo))
    # Run from the top: a relative core.hooksPath is relative to where git runs hooks.
    hooks = Path(git("rev-parse", "--git-path", "hooks", cwd=root))
    return root, hooks if hooks.is_absolute() else root / hooks


def install(repo: Path, *, python: str | None, force: bool = False) -> Installed:
    try:
        root, directory = hooks_dir(repo)
    except ValueError as exc:
        return Installed(EXIT_REFUSED, f"tierbot: error: {exc}")
    target = directory / "pre-commit"
    shown = os.path.relpath(target, root) if target.is_relative_to(root) else str(target)
    script = render(python)
    backup: Path | None = None
    if target.exists() or target.is_symlink():
        try:
            current = target.read_text("utf-8", errors="replace")
        except OSError:
            current = ""
        if current == script:
            return Installed(0, f"tierbot: {shown} is already installed")
        if SIGNATURE not in current:
            if not force:
                return Installed(
                    EXIT_REFUSED,
                    f"tierbot: error: {shown} already exists and is not tierbot's; "
                    "rerun with --force to replace it (it is kept as pre-commit.backup)",
                )
            backup = target.with_name("pre-commit.backup")
            target.replace(backup)
    directory.mkdir(parents=True, exist_ok=True)
    target.write_text(script, "utf-8")
    mode = target.stat().st_mode
    target.chmod(mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    message = f"tierbot: installed {shown}"
    if backup is not None:
        message += f" (the previous hook is now {backup.name})"
    return Installed(0, message)
