"""The check on the base commit, run before the first tier, remembered by the commit's tree.

A task whose base is already red cannot be judged by the check: every attempt would fail
whatever it wrote, and the ladder would climb to paid tiers for nothing. So ``tierbot run``
runs the check once in the fresh worktree (still at the base) and stops on red, charging
nothing. A green result is remembered under the tree's hash and the check command, so a
second task on the same commit starts at once. A red one is not remembered: what makes a base
red is often the environment (a package not installed), which the user fixes without a
commit.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.config import CheckSpec
from bot.core.types import CheckResult
from bot.ports import Workspace

CACHE_FILE = "baseline.json"
KEEP = 64  # green trees remembered; the oldest are forgotten first

RunCheck = Callable[[Workspace, CheckSpec], CheckResult | None]


def commit_and_tree(root: Path) -> tuple[str, str]:
    out = subprocess.run(
        ["git", "rev-parse", "HEAD", "HEAD^{tree}"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    commit, tree = out.stdout.split()
    return commit, tree


class BaselineCheck:
    """``check(workspace)``: the workspace's commit and the check's result on it (None: no
    check to run)."""

    def __init__(
        self,
        *,
        run_check: RunCheck,
        spec: CheckSpec,
        cache_dir: Path,
        command_for: Callable[[Workspace], str | None],
        echo: Callable[[str], None] = lambda _line: None,
    ) -> None:
        self._run_check = run_check
        self._spec = spec
        self._cache = cache_dir / CACHE_FILE
        self._command_for = command_for
        self._echo = echo

    def __call__(self, workspace: Workspace) -> tuple[str, CheckResult] | None:
        command = self._command_for(workspace)
        if command is None:
            return None  # nothing to run: no check configured and no tests
        commit, tree = commit_and_tree(workspace.root)
        key = self._key(tree, command)
        remembered = self._load()
        if key in remembered:
            self._echo(f"baseline: `{command}` passed on this tree before (cached)")
            return commit, CheckResult(True, 0, 0.0, command, "passed before on this tree")
        self._echo(f"baseline: running `{command}` on the base commit")
        result = self._run_check(workspace, self._spec)
        # The check's own files (caches, bytecode) must not look like part of the task's edit.
        workspace.discard()
        if result is None:
            return None
        if result.passed:
            remembered[key] = command
            self._store(remembered)
        return commit, result

    @staticmethod
    def _key(tree: str, command: str) -> str:
        return hashlib.sha256(f"{tree}\0{command}".encode()).hexdigest()

    def _load(self) -> dict[str, str]:
        try:
            data = json.loads(self._cache.read_text("utf-8"))
        except (OSError, ValueError):
            return {}  # absent or damaged: the check simply runs again
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def _store(self, remembered: dict[str, str]) -> None:
        kept = dict(list(remembered.items())[-KEEP:])
        try:
            self._cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = self._cache.with_suffix(".tmp")
            tmp.write_text(json.dumps(kept), "utf-8")
            tmp.replace(self._cache)
        except OSError:
            pass  # a cache that cannot be written only costs the next run its check


def local_baseline(
    forge: Any, spec: CheckSpec, git_dir: Path, echo: Callable[[str], None]
) -> BaselineCheck:
    """The baseline of ``tierbot run``: the local forge's check, cached beside its ledger."""
    from bot.adapters.localforge import check_command

    return BaselineCheck(
        run_check=forge.run_check,
        spec=spec,
        cache_dir=git_dir / "tierbot",
        command_for=lambda workspace: check_command(spec, workspace.list_files()),
        echo=echo,
    )
