"""A task's run state: what the loop knows between steps, saved so another worker resumes it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from bot.core import endings
from bot.core.escalation import Ladder
from bot.core.types import (
    AttemptRecord,
    EditSet,
    FileEdit,
    Outcome,
    Status,
    Task,
    Usage,
    slugify,
)
from bot.ports import Ledger


def make_task(text: str, task_type: str, *, title: str | None = None) -> Task:
    first = next((line.strip("# ").strip() for line in text.splitlines() if line.strip()), "")
    heading = title or first or task_type
    return Task(type=task_type, text=text, title=heading[:120], slug=slugify(heading))


@dataclass(frozen=True)
class AttemptSummary:
    number: int
    tier: str
    outcome: str
    detail: str
    cost_usd: float | None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    commit_sha: str | None = None


@dataclass(frozen=True)
class RunResult:
    status: Status
    reason: str
    task_id: int | None
    branch: str | None
    cost_usd: float
    cost_unknown: bool
    senior_cost_usd: float | None
    attempts: tuple[AttemptSummary, ...] = ()
    # The loop's state, for ``Engine.resume`` when the status is RUNNING.
    state: TaskRun | None = field(default=None, compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        data = asdict(replace(self, state=None))
        data.pop("state")
        data["status"] = str(self.status)
        data["detail"] = self.detail()
        return data

    @property
    def stopped_on_red_check(self) -> bool:
        """A person is needed because the last attempt's check failed: the ceiling on red."""
        red = bool(self.attempts) and self.attempts[-1].outcome == "check-failed"
        return red and self.status is Status.NEEDS_HUMAN

    def detail(self) -> str:
        return endings.status_detail(str(self.status), self.reason, self.attempts)

    def status_line(self) -> str:
        cost = f"${self.cost_usd:.4f}" + (" + unknown" if self.cost_unknown else "")
        senior = f"${self.senior_cost_usd:.4f}" if self.senior_cost_usd is not None else "unknown"
        where = f" on {self.branch}" if self.branch and self.status is Status.DONE else ""
        detail = self.detail()
        return (
            f"{self.status}{where}: {self.reason}"
            + (f" ({detail})" if detail else "")
            + f"; cost {cost} "
            f"(all on senior: {senior}); {len(self.attempts)} attempt(s)"
        )


@dataclass
class Produced:
    """What one attempt produced: its outcome, edits and cost, then its commit."""

    outcome: Outcome
    detail: str = ""
    feedback: str = ""
    edits: EditSet = field(default_factory=EditSet)
    cost_usd: float | None = 0.0
    worst_usd: float = 0.0
    senior_cost_usd: float | None = 0.0
    usage: Usage = field(default_factory=lambda: Usage(None, None))
    commit_sha: str | None = None
    awaiting_check: bool = False
    note: str = ""  # added to the commit message (files suggested rather than committed)


@dataclass(frozen=True)
class Pending:
    """An attempt whose commit is being checked elsewhere (CI on a forge)."""

    attempt_id: int
    number: int
    tier: str
    result: Produced


@dataclass
class TaskRun:
    """Everything the loop knows about one task between steps."""

    task_id: int
    task: Task
    ladder: Ladder
    history: list[AttemptRecord] = field(default_factory=list)
    summaries: list[AttemptSummary] = field(default_factory=list)
    outcome: Outcome | None = None
    feedback: str = ""
    touched: list[str] = field(default_factory=list)
    unknown: bool = False
    senior_total: float | None = 0.0
    pending: Pending | None = None
    start_reason: str = ""  # why the task started on its tier (``routing: adaptive``)

    def to_json(self) -> dict[str, Any]:
        """Everything needed to resume in another process (a worker after a CI webhook)."""
        pending = None
        if self.pending is not None:
            r = self.pending.result
            pending = {
                "attempt_id": self.pending.attempt_id,
                "number": self.pending.number,
                "tier": self.pending.tier,
                "outcome": str(r.outcome),
                "detail": r.detail,
                "feedback": r.feedback,
                "paths": list(r.edits.paths),
                "cost_usd": r.cost_usd,
                "worst_usd": r.worst_usd,
                "senior_cost_usd": r.senior_cost_usd,
                "usage": [r.usage.prompt_tokens, r.usage.completion_tokens],
                "commit_sha": r.commit_sha,
                "note": r.note,
            }
            if r.commit_sha is None:  # still to be committed: a resumed run commits this edit
                pending["edits"] = [[e.path, e.content] for e in r.edits.edits]
        return {
            "task_id": self.task_id,
            "task": asdict(self.task),
            "ladder": asdict(self.ladder),
            "history": [asdict(h) for h in self.history],
            "summaries": [asdict(a) for a in self.summaries],
            "outcome": str(self.outcome) if self.outcome else None,
            "feedback": self.feedback,
            "touched": self.touched,
            "unknown": self.unknown,
            "senior_total": self.senior_total,
            "pending": pending,
            "start_reason": self.start_reason,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TaskRun:
        ladder = dict(data["ladder"])
        ladder["tiers"] = tuple(ladder["tiers"])
        ladder["fixed"] = tuple(ladder.get("fixed", ()))
        pending = None
        if data.get("pending"):
            p = data["pending"]
            result = Produced(
                Outcome(p["outcome"]),
                detail=p["detail"],
                feedback=p["feedback"],
                # After the commit only the paths matter (they join ``touched``).
                edits=EditSet(
                    tuple(FileEdit(path, content) for path, content in p["edits"])
                    if "edits" in p
                    else tuple(FileEdit(path, "") for path in p["paths"])
                ),
                cost_usd=p["cost_usd"],
                worst_usd=p["worst_usd"],
                senior_cost_usd=p["senior_cost_usd"],
                usage=Usage(*p["usage"]),
                commit_sha=p["commit_sha"],
                awaiting_check=p["commit_sha"] is not None,
                note=p.get("note", ""),
            )
            pending = Pending(p["attempt_id"], p["number"], p["tier"], result)
        return cls(
            task_id=data["task_id"],
            task=Task(**data["task"]),
            ladder=Ladder(**ladder),
            history=[
                AttemptRecord(h["tier"], Outcome(h["outcome"]), h["cost_usd"], h["detail"])
                for h in data["history"]
            ],
            summaries=[AttemptSummary(**a) for a in data["summaries"]],
            outcome=Outcome(data["outcome"]) if data["outcome"] else None,
            feedback=data["feedback"],
            touched=list(data["touched"]),
            unknown=data["unknown"],
            senior_total=data["senior_total"],
            pending=pending,
            start_reason=data.get("start_reason", ""),
        )


def record_end(ledger: Ledger, result: RunResult) -> None:
    """Write how a task ended, and what it cost, to its ledger row."""
    assert result.task_id is not None
    ledger.finish_task(
        result.task_id,
        status=result.status,
        reason=result.reason,
        branch=result.branch,
        cost_usd=None if result.cost_unknown else result.cost_usd,
        senior_cost_usd=result.senior_cost_usd,
    )
