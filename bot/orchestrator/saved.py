"""A local feature run kept between runs, so ``tierbot run`` goes on where a killed run stopped.

After every step the run's state (``FeatureRun``) is written next to the repository's ledger,
under ``<git dir>/tierbot/plans/<slug>.json``, with the branch it builds and the commit it
started from. Running the same issue again finds it: when the text is the same and the branch
still holds only tierbot's commits on top of that start, the plan goes on from its state; the
planner is not asked again and a committed subtask is not run again. A run that ends (done,
needs a human, budget stop) removes its file.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.core.types import Task
from bot.orchestrator.state import FeatureRun, is_feature_state

SAVED_VERSION = 1


@dataclass(frozen=True)
class SavedRun:
    """A stopped run of one issue: where its file is, its branch, start commit and state."""

    path: Path
    branch: str
    base: str
    feature: FeatureRun
    pid: int  # the process that ran it

    def running(self) -> bool:
        """Whether the process that saved it still runs (another run of the same issue)."""
        if self.pid == os.getpid():
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except OSError:
            return True  # it exists but is someone else's
        return True


def fingerprint(task: Task) -> str:
    """The same issue: the same type and text (a changed issue is planned again)."""
    return hashlib.sha256(f"{task.type}\0{task.text}".encode()).hexdigest()


def saved_path(git_dir: Path, task: Task) -> Path:
    return git_dir / "tierbot" / "plans" / f"{task.slug}.json"


def save(path: Path, task: Task, branch: str, base: str, feature: FeatureRun) -> None:
    """Write the state whole or not at all: a run killed mid-write keeps the previous one."""
    data = {
        "version": SAVED_VERSION,
        "issue": fingerprint(task),
        "branch": branch,
        "base": base,
        "pid": os.getpid(),
        "state": feature.to_json(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(data), encoding="utf-8")
    os.replace(partial, path)


def load(path: Path, task: Task) -> SavedRun | str | None:
    """The stopped run of ``task``, or why the file cannot be used (None: there is none)."""
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        return f"its saved state is unreadable ({exc})"
    if not isinstance(data, dict) or data.get("version") != SAVED_VERSION:
        return "its saved state is from another version of tierbot"
    if data.get("issue") != fingerprint(task):
        return "the issue's text or type changed since"
    state = data.get("state")
    if not isinstance(state, dict) or not is_feature_state(state):
        return "its saved state is not a plan run"
    try:
        feature = FeatureRun.from_json(state)
    except (KeyError, TypeError, ValueError) as exc:
        return f"its saved state is unreadable ({exc})"
    pid = data.get("pid")
    return SavedRun(
        path, str(data.get("branch")), str(data.get("base")), feature, pid if pid else 0
    )


def forget(path: Path) -> None:
    path.unlink(missing_ok=True)
