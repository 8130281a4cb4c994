"""The task store port: which tierbot task belongs to which issue, and refused triggers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass
class IssueTask:
    repo: str
    issue: int
    task_id: int | None = None
    label: str = ""
    branch: str = ""
    pr_number: int | None = None
    comment_id: int | None = None
    status: str = "running"
    state: dict[str, Any] | None = None
    # tierbot:auto's decision (``bot/orchestrator/triage.py: Decision.to_json``); None when a
    # task label chose the type.
    triage: dict[str, Any] | None = None


@dataclass(frozen=True)
class Refusal:
    repo: str
    number: int | None
    sender: str
    event: str
    reason: str


class TaskStore(Protocol):
    def get(self, repo: str, issue: int) -> IssueTask | None: ...

    def save(self, item: IssueTask) -> None: ...

    def refuse(self, refusal: Refusal) -> None:
        """Record a trigger refused (a sender without write access, a bot)."""
        ...
