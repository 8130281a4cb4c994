"""A plan's run state: each subtask's progress and money, and as JSON for the marker.

Pure and immutable: every transition returns a new :class:`PlanRun`. The task service stores
``to_json()`` in the status comment's hidden marker and in the ledger, so a restarted worker
resumes from ``from_json`` where the last one stopped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from bot.core.plan import Plan, plan_from_json
from bot.core.types import AttemptRecord, Outcome

VERSION = 1
MAX_DETAIL_CHARS = 160
MAX_CHECK_CHARS = 3000


class SubtaskState(StrEnum):
    PENDING = "pending"  # not started, or sent back by a red check
    RUNNING = "running"  # a tier is working on it
    DONE = "done"  # its commit is on the branch
    FAILED = "failed"  # stopped without a commit: budget, or a provider that refused the key
    NEEDS_HUMAN = "needs-human"  # its ceiling is reached
    CANCELLED = "cancelled"  # a relabel or `/tierbot stop` came first


@dataclass(frozen=True)
class SubtaskRun:
    id: str
    state: SubtaskState = SubtaskState.PENDING
    attempts: tuple[AttemptRecord, ...] = ()
    senior_cost_usd: float | None = 0.0  # the same calls' tokens at the senior tier's prices
    commit: str | None = None  # the sha of its last commit
    paths: tuple[str, ...] = ()  # the files its commits changed
    note: str = ""  # why it stopped, or why it was sent back

    @property
    def tier(self) -> str:
        """The tier of its last attempt: the tier that did it, once it is done."""
        return self.attempts[-1].tier if self.attempts else ""

    @property
    def cost_usd(self) -> float | None:
        return _sum(a.cost_usd for a in self.attempts)


@dataclass(frozen=True)
class PlannerRun:
    tier: str
    attempts: int = 1
    cost_usd: float | None = 0.0
    senior_cost_usd: float | None = 0.0


def _sum(values: Iterable[float | None]) -> float | None:
    total = 0.0
    for value in values:
        if value is None:
            return None  # one unknown cost makes the total unknown, never lower
        total += value
    return total


@dataclass(frozen=True)
class Committed:
    """A subtask's commit found on the branch by its ``Tierbot-Subtask`` trailer."""

    sha: str
    tier: str  # from its ``Tierbot-Tier`` trailer
    cost_usd: float | None = None  # from the ledger; None when it is not known
    senior_cost_usd: float | None = None


class PlanRunError(ValueError):
    """A stored plan run that cannot be read back."""


@dataclass(frozen=True)
class PlanRun:
    plan: Plan
    subtasks: tuple[SubtaskRun, ...]
    planner: PlannerRun
    check_rounds: int = 0
    last_check: str = ""  # the last red check's excerpt: the charged subtasks' feedback
    cancelled: str = ""  # why the remaining subtasks were cancelled

    @classmethod
    def start(cls, plan: Plan, planner: PlannerRun) -> PlanRun:
        return cls(plan, tuple(SubtaskRun(s.id) for s in plan.subtasks), planner)

    def get(self, subtask_id: str) -> SubtaskRun:
        for run in self.subtasks:
            if run.id == subtask_id:
                return run
        raise KeyError(subtask_id)

    def _with(self, subtask_id: str, **changes: Any) -> PlanRun:
        self.get(subtask_id)
        runs = tuple(replace(r, **changes) if r.id == subtask_id else r for r in self.subtasks)
        return replace(self, subtasks=runs)

    def ids_in(self, *states: SubtaskState) -> tuple[str, ...]:
        return tuple(r.id for r in self.subtasks if r.state in states)

    # -- transitions ------------------------------------------------------------------------
    def running(self, subtask_id: str) -> PlanRun:
        return self._with(subtask_id, state=SubtaskState.RUNNING)

    def attempted(
        self,
        subtask_id: str,
        record: AttemptRecord,
        *,
        senior_cost_usd: float | None = 0.0,
        commit: str | None = None,
        paths: Sequence[str] = (),
    ) -> PlanRun:
        """One attempt ended: with a commit the subtask is done, else it waits for next_step."""
        run = self.get(subtask_id)
        record = replace(record, detail=record.detail[:MAX_DETAIL_CHARS])
        senior = _sum([run.senior_cost_usd, senior_cost_usd])
        if commit is None:
            return self._with(
                subtask_id,
                state=SubtaskState.PENDING,
                attempts=(*run.attempts, record),
                senior_cost_usd=senior,
                note=record.detail,
            )
        return self._with(
            subtask_id,
            state=SubtaskState.DONE,
            attempts=(*run.attempts, record),
            senior_cost_usd=senior,
            commit=commit,
            paths=tuple(dict.fromkeys([*run.paths, *paths])),
            note="",
        )

    def stopped(self, subtask_id: str, state: SubtaskState, note: str) -> PlanRun:
        """The subtask ends without a commit: needs-human at its ceiling, or failed."""
        return self._with(subtask_id, state=state, note=note[:MAX_DETAIL_CHARS])

    def checked(self, passed: bool, charged: Iterable[str] = (), excerpt: str = "") -> PlanRun:
        """The check of the whole branch: red sends ``charged`` back with a failed attempt."""
        if passed:
            return replace(self, check_rounds=self.check_rounds + 1, last_check="")
        state = self
        for subtask_id in charged:
            run = state.get(subtask_id)
            attempts = run.attempts
            if attempts:  # its commit stays; its last attempt now counts as a failed check
                attempts = (*attempts[:-1], replace(attempts[-1], outcome=Outcome.CHECK_FAILED))
            state = state._with(
                subtask_id, state=SubtaskState.PENDING, attempts=attempts, note="the check failed"
            )
        return replace(
            state, check_rounds=self.check_rounds + 1, last_check=excerpt[-MAX_CHECK_CHARS:]
        )

    def resumed(self, committed: Mapping[str, Committed]) -> PlanRun:
        """After a restart: a subtask left running is done if its commit is on the branch
        (so it never runs again to a second commit), and pending again if it is not."""
        state = self
        for run in self.subtasks:
            if run.state is not SubtaskState.RUNNING:
                continue
            found = committed.get(run.id)
            if found is None:
                state = state._with(run.id, state=SubtaskState.PENDING, note="interrupted")
                continue
            record = AttemptRecord(
                found.tier, Outcome.GREEN, found.cost_usd, "found on the branch after a restart"
            )
            state = state.attempted(
                run.id, record, senior_cost_usd=found.senior_cost_usd, commit=found.sha
            )
        return state

    def cancel(self, reason: str) -> PlanRun:
        """Stop what has not finished; commits already made stay on the branch."""
        runs = tuple(
            replace(r, state=SubtaskState.CANCELLED)
            if r.state in (SubtaskState.PENDING, SubtaskState.RUNNING)
            else r
            for r in self.subtasks
        )
        return replace(self, subtasks=runs, cancelled=reason[:MAX_DETAIL_CHARS])

    # -- totals -----------------------------------------------------------------------------
    @property
    def cost_usd(self) -> float | None:
        return _sum([self.planner.cost_usd, *(r.cost_usd for r in self.subtasks)])

    @property
    def senior_cost_usd(self) -> float | None:
        return _sum([self.planner.senior_cost_usd, *(r.senior_cost_usd for r in self.subtasks)])

    @property
    def finished(self) -> bool:
        return not self.ids_in(SubtaskState.PENDING, SubtaskState.RUNNING)

    # -- JSON -------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "version": VERSION,
            "plan": self.plan.to_json(),
            "planner": {
                "tier": self.planner.tier,
                "attempts": self.planner.attempts,
                "cost_usd": self.planner.cost_usd,
                "senior_cost_usd": self.planner.senior_cost_usd,
            },
            "subtasks": [_run_json(r) for r in self.subtasks],
            "check_rounds": self.check_rounds,
            "last_check": self.last_check,
            "cancelled": self.cancelled,
        }

    @classmethod
    def from_json(cls, data: Any) -> PlanRun:
        try:
            return _from_json(data)
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, PlanRunError):
                raise
            raise PlanRunError(f"the stored plan run is unreadable: {exc!r}") from None


def _run_json(run: SubtaskRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "state": str(run.state),
        "attempts": [[a.tier, str(a.outcome), a.cost_usd, a.detail] for a in run.attempts],
        "senior_cost_usd": run.senior_cost_usd,
        "commit": run.commit,
        "paths": list(run.paths),
        "note": run.note,
    }


def _from_json(data: Any) -> PlanRun:
    if not isinstance(data, Mapping) or data.get("version") != VERSION:
        raise PlanRunError("the stored plan run has no known version")
    plan = plan_from_json(data["plan"])
    if isinstance(plan, list):
        raise PlanRunError("the stored plan is invalid: " + "; ".join(plan))
    planner = data["planner"]
    runs = tuple(
        SubtaskRun(
            id=str(r["id"]),
            state=SubtaskState(r["state"]),
            attempts=tuple(
                AttemptRecord(str(t), Outcome(o), _money(c), str(d)) for t, o, c, d in r["attempts"]
            ),
            senior_cost_usd=_money(r["senior_cost_usd"]),
            commit=None if r["commit"] is None else str(r["commit"]),
            paths=tuple(str(p) for p in r["paths"]),
            note=str(r["note"]),
        )
        for r in data["subtasks"]
    )
    if tuple(r.id for r in runs) != plan.ids:
        raise PlanRunError("the stored subtask states do not match the stored plan")
    return PlanRun(
        plan=plan,
        subtasks=runs,
        planner=PlannerRun(
            tier=str(planner["tier"]),
            attempts=int(planner["attempts"]),
            cost_usd=_money(planner["cost_usd"]),
            senior_cost_usd=_money(planner["senior_cost_usd"]),
        ),
        check_rounds=int(data["check_rounds"]),
        last_check=str(data["last_check"]),
        cancelled=str(data["cancelled"]),
    )


def _money(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PlanRunError(f"a cost must be a number or null, not {value!r}")
    return float(value)
