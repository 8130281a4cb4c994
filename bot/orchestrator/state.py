"""A feature run's state and results: what is stored between steps, what a run returns, and
each subtask's row of the plan run rebuilt from its engine task."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from bot.core.plan_run import PlanRun, SubtaskState
from bot.core.state import money as shown
from bot.core.types import AttemptRecord, CheckResult, Outcome, Status, Task
from bot.engine import RunResult, TaskRun

FEATURE_STATE_VERSION = 1


@dataclass
class FeatureRun:
    """A plan run between steps: the plan's state and the engine tasks of the subtasks that
    wait for the check; ``to_json`` is what a worker stores so the next one resumes."""

    task_id: int
    task: Task
    run: PlanRun
    engines: dict[str, TaskRun] = field(default_factory=dict)
    paths: dict[str, list[str]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    # The head whose check stopped a subtask at its ceiling and was diagnosed: a job run again
    # on the same check (a worker stopped before the stop was published) asks no second time.
    diagnosed: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "feature": FEATURE_STATE_VERSION,
            "task_id": self.task_id,
            "task": asdict(self.task),
            "run": self.run.to_json(),
            "engines": {k: v.to_json() for k, v in self.engines.items()},
            "paths": self.paths,
            "notes": list(self.notes),
            "diagnosed": self.diagnosed,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FeatureRun:
        return cls(
            task_id=int(data["task_id"]),
            task=Task(**data["task"]),
            run=PlanRun.from_json(data["run"]),
            engines={k: TaskRun.from_json(v) for k, v in data["engines"].items()},
            paths={k: list(v) for k, v in data["paths"].items()},
            notes=tuple(data["notes"]),
            diagnosed=data.get("diagnosed"),
        )


def is_feature_state(data: Mapping[str, Any] | None) -> bool:
    """Whether a stored task state is a plan run's (else a single engine task's)."""
    return bool(data) and data is not None and data.get("feature") == FEATURE_STATE_VERSION


@dataclass(frozen=True)
class FeatureResult:
    """How a feature issue ended: its plan run, or the single-ladder run it fell back to."""

    status: Status
    reason: str
    task_id: int | None
    branch: str | None
    run: PlanRun | None = None
    fallback: RunResult | None = None
    notes: tuple[str, ...] = ()
    check: str = ""  # the last check's verdict, one line
    feature: FeatureRun | None = field(default=None, compare=False, repr=False)
    ceiling: str | None = None  # the charged subtask at whose ceiling a red check stopped it

    @property
    def cost_usd(self) -> float | None:
        if self.run is not None:
            return add_costs(self.run.cost_usd, self.fallback.cost_usd if self.fallback else 0.0)
        return None

    def status_line(self) -> str:
        where = f" on {self.branch}" if self.branch and self.status is Status.DONE else ""
        if self.run is None:
            return f"{self.status}{where}: {self.reason}"
        done = len(self.run.ids_in(SubtaskState.DONE))
        return (
            f"{self.status}{where}: {self.reason}; {done} of {len(self.run.subtasks)} "
            f"subtasks done; cost {shown(self.run.cost_usd)} "
            f"(all on senior: {shown(self.run.senior_cost_usd)})"
        )

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "status": str(self.status),
            "reason": self.reason,
            "task_id": self.task_id,
            "branch": self.branch,
            "orchestrated": self.run is not None,
            "notes": list(self.notes),
            "check": self.check,
        }
        if self.run is not None:
            data["cost_usd"] = self.run.cost_usd
            data["senior_cost_usd"] = self.run.senior_cost_usd
            data["planner"] = {
                "tier": self.run.planner.tier,
                "attempts": self.run.planner.attempts,
                "cost_usd": self.run.planner.cost_usd,
            }
            data["subtasks"] = [
                {
                    "id": run.id,
                    "type": subtask.type,
                    "title": subtask.title,
                    "tier": run.tier,
                    "attempts": [[a.tier, str(a.outcome), a.cost_usd] for a in run.attempts],
                    "cost_usd": run.cost_usd,
                    "outcome": str(run.state),
                    "commit": run.commit,
                    "note": run.note,
                }
                for subtask, run in zip(self.run.plan.subtasks, self.run.subtasks, strict=True)
            ]
            data["check_rounds"] = self.run.check_rounds
        if self.fallback is not None:
            data["fallback"] = self.fallback.to_json()
        return data


def add_costs(*values: float | None) -> float | None:
    total = 0.0
    for value in values:
        if value is None:
            return None
        total += value
    return total


def mirror(
    run: PlanRun, subtask_id: str, result: RunResult, paths: dict[str, list[str]]
) -> PlanRun:
    """The subtask's row of the plan run, rebuilt from its engine task's own state."""
    state = result.state
    if state is None:
        return run
    records = list(state.history)
    commit = next((a.commit_sha for a in reversed(state.summaries) if a.commit_sha), None)
    senior = state.senior_total
    pending = state.pending
    if pending is not None and pending.result.commit_sha is not None:
        records.append(
            AttemptRecord(pending.tier, Outcome.GREEN, pending.result.cost_usd, "committed")
        )
        commit = pending.result.commit_sha
        senior = add_costs(senior, pending.result.senior_cost_usd)
        own = paths.setdefault(subtask_id, [])
        own.extend(p for p in pending.result.edits.paths if p not in own)
    if result.status is Status.RUNNING or result.status is Status.DONE:
        new_state = SubtaskState.DONE if commit else SubtaskState.PENDING
        note = ""
    elif result.status is Status.NEEDS_HUMAN:
        new_state, note = SubtaskState.NEEDS_HUMAN, result.reason
    else:
        new_state, note = SubtaskState.FAILED, result.reason
    rows = tuple(
        replace(
            r,
            state=new_state,
            attempts=tuple(records),
            senior_cost_usd=senior,
            commit=commit,
            paths=tuple(paths.get(subtask_id, ())),
            note=note[:160],
        )
        if r.id == subtask_id
        else r
        for r in run.subtasks
    )
    return replace(run, subtasks=rows)


def verdict_of(check: CheckResult) -> str:
    if not check.command:
        return "no check configured"
    if check.timed_out:
        return f"`{check.command}` timed out"
    return f"`{check.command}` " + (
        "passed" if check.passed else f"failed (exit {check.exit_code})"
    )
