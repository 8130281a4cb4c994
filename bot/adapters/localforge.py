"""The local forge: the check command runs in the task's worktree as its CI; talk goes to stderr."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence

from bot.config import CheckSpec
from bot.core.logs import excerpt, scrub
from bot.core.types import CheckResult
from bot.ports import Workspace

DEFAULT_CHECK = "pytest -q"


def has_tests(files: Sequence[str]) -> bool:
    for path in files:
        name = path.rsplit("/", 1)[-1]
        if not name.endswith(".py"):
            continue
        if (
            path.startswith(("tests/", "test/"))
            or name.startswith("test_")
            or name.endswith("_test.py")
        ):
            return True
    return False


def check_command(check: CheckSpec, files: Sequence[str]) -> str | None:
    """The configured command, else ``pytest -q`` when the repository has tests, else none."""
    if check.command:
        return check.command
    return DEFAULT_CHECK if has_tests(files) else None


class LocalForge:
    def __init__(
        self,
        *,
        env: Mapping[str, str],
        echo: Callable[[str], None],
        excerpt_chars: int = 6000,
        redact: Callable[[str], str] = scrub,
        pushes: bool = False,
    ) -> None:
        # The check runs here, on the local branch; ``pushes`` when that branch is also
        # published (a GitHub Action whose token starts no CI: the PR still needs the commits).
        self.pushes = pushes
        self._env = dict(env)
        self._redact = redact  # the check's output is scrubbed as it arrives
        self._echo = echo
        self._excerpt_chars = excerpt_chars

    def say(self, text: str) -> None:
        self._echo(text)

    def run_check(self, workspace: Workspace, check: CheckSpec) -> CheckResult:
        command = check_command(check, workspace.list_files())
        if command is None:
            return CheckResult(
                passed=True,
                exit_code=0,
                duration_s=0.0,
                command="",
                output="no check configured and no tests found",
            )
        started = time.monotonic()
        # A new session, so a timeout can kill the command's whole process group.
        proc = subprocess.Popen(
            command,
            shell=True,
            cwd=workspace.root,
            env=self._env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        timed_out = False
        try:
            raw, _ = proc.communicate(timeout=check.timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(proc.pid, signal.SIGKILL)
            raw, _ = proc.communicate()
        duration = time.monotonic() - started
        output = self._redact(raw.decode("utf-8", "replace"))
        if timed_out:
            output += f"\n[tierbot] check timed out after {check.timeout:g} s and was killed"
        code = None if timed_out else proc.returncode
        return CheckResult(
            passed=code == 0,
            exit_code=code,
            duration_s=duration,
            command=command,
            output=output,
            excerpt=excerpt(output, max_chars=self._excerpt_chars),
            timed_out=timed_out,
        )
