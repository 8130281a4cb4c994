"""CI attribution: is a red run the bot's fault (climb the ladder) or not (explain and stop)?"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

SETUP_STEP = re.compile(
    r"(?i)\b(set ?up|checkout|install|dependenc|cache|login|credential|restore|download)\w*"
)
MISSING_SECRET = re.compile(
    r"(?i)(secret|token|api[_ -]?key|credential)s?\b[^\n]{0,60}"
    r"\b(not set|missing|empty|is required|not found|unauthori[sz]ed)"
)


@dataclass(frozen=True)
class StepInfo:
    name: str
    conclusion: str | None


@dataclass(frozen=True)
class JobInfo:
    id: int
    name: str
    conclusion: str | None
    steps: tuple[StepInfo, ...] = ()


def failed_jobs(jobs: Sequence[JobInfo]) -> list[JobInfo]:
    return [j for j in jobs if j.conclusion in ("failure", "timed_out", "startup_failure")]


def attribute(jobs: Sequence[JobInfo], *, base_branch: str, base_red: bool, log: str) -> str | None:
    """A reason the failure is not the change's fault, or None when the bot should retry."""
    if base_red:
        return (
            f"CI on the base branch {base_branch} is failing too, so this failure says "
            "nothing about tierbot's change; fix the base branch, then relabel the issue"
        )
    failing = failed_jobs(jobs)
    if failing:
        first_failed = []
        for job in failing:
            step = next((s for s in job.steps if s.conclusion == "failure"), None)
            first_failed.append((job, step))
        if all(step is not None and SETUP_STEP.search(step.name) for _, step in first_failed):
            job, step = first_failed[0]
            assert step is not None
            return (
                f"CI failed in the step '{step.name}' of job '{job.name}' before the tests "
                "ran, which a change to the code cannot fix"
            )
    if MISSING_SECRET.search(log):
        return "CI appears to be missing a secret or credential; a maintainer must provide it"
    return None
