"""The audit report's value types: one frozen row type per table, and the cost columns.

Every table is a tuple of flat rows whose ``to_json`` keys are the CSV columns, so the JSON,
CSV and HTML outputs show one set of numbers. Unknown money stays unknown (``Cost``): a
partly unknown sum is a lower bound, never $0.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from bot.core.calibration import wilson
from bot.report import ASSUMPTION, Cost

UNKNOWN = "unknown"


def cost_fields(cost: Cost) -> dict[str, Any]:
    """Flat cost columns: ``cost_usd`` is "unknown" whenever any part is."""
    return {
        "cost_usd": UNKNOWN if cost.unknown else cost.known_usd,
        "cost_known_usd": cost.known_usd,
        "cost_items": cost.items,
        "cost_unknown": cost.unknown,
    }


def add_cost(a: Cost, b: Cost) -> Cost:
    return Cost(a.known_usd + b.known_usd, a.items + b.items, a.unknown + b.unknown)


def one_cost(usd: float | None) -> Cost:
    return Cost(usd or 0.0, 1, int(usd is None))


@dataclass(frozen=True)
class SpendCell:
    """Model spend of one task type at one tier, on tasks that ended with one status."""

    task_type: str
    tier: str
    outcome: str  # the task's status: done, needs-human, budget-stop, running, ...
    tasks: int
    calls: int
    unreached: int
    refused: int
    template_runs: int
    prompt_tokens: int
    completion_tokens: int
    cost: Cost

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        del data["cost"]
        return {**data, **cost_fields(self.cost)}


@dataclass(frozen=True)
class GreenCell:
    """Finished attempts of one task type at one tier, and how many ended green."""

    task_type: str
    tier: str
    attempts: int
    green: int
    declined: int
    running: int

    @property
    def rate(self) -> float | None:
        return self.green / self.attempts if self.attempts else None

    def to_json(self) -> dict[str, Any]:
        low, high = wilson(self.green, self.attempts)
        return {
            **asdict(self),
            "rate": self.rate,
            "rate_low": low if self.attempts else None,
            "rate_high": high if self.attempts else None,
        }


@dataclass(frozen=True)
class FunnelStage:
    """Tasks that reached one tier of the ladder, and where they went from there."""

    tier: str
    reached: int
    done: int  # ended done with this as their highest tier
    climbed: int  # went on to a higher tier
    stopped: int  # ended here without a result (needs-human, budget-stop, cancelled)
    open: int  # still running here

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Day:
    """Spend of one day (by the call's time) against the counterfactual (by the attempt's)."""

    day: date
    spend: Cost  # every call
    done_spend: Cost  # calls of tasks that ended done
    senior_done: Cost  # the same work of done tasks all on senior

    def to_json(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            **{f"spend_{k}": v for k, v in cost_fields(self.spend).items()},
            **{f"done_spend_{k}": v for k, v in cost_fields(self.done_spend).items()},
            **{f"senior_done_{k}": v for k, v in cost_fields(self.senior_done).items()},
        }


@dataclass(frozen=True)
class TaskCost:
    task_id: int
    repo: str
    task_type: str
    title: str
    status: str
    start_tier: str
    top_tier: str
    attempts: int
    cost: Cost
    link: str | None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        del data["cost"]
        return {**data, **cost_fields(self.cost)}


@dataclass(frozen=True)
class FeatureRow:
    """One feature issue (a task with subtasks): planning against doing, and its subtasks."""

    task_id: int
    repo: str
    ref: str  # owner/name#N for a GitHub issue, else the branch, else the task's slug
    title: str
    status: str
    link: str | None
    subtasks: int  # subtasks that started: ledger tasks with this task as their parent
    subtasks_done: int
    done_at: tuple[tuple[str, int], ...]  # per tier: subtasks done by an attempt there
    planning_calls: int  # the planner's calls (its retry included) that reached a server
    doing_calls: int  # the subtasks' calls that reached a server
    template_runs: int  # the subtasks' free template-tier runs
    planning: Cost
    doing: Cost
    senior: Cost  # planning and doing all on senior

    @property
    def total(self) -> Cost:
        return add_cost(self.planning, self.doing)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("done_at", "planning", "doing", "senior"):
            del data[key]
        return {
            **data,
            **{f"done_at_{tier}": n for tier, n in self.done_at},
            **{f"planning_{k}": v for k, v in cost_fields(self.planning).items()},
            **{f"doing_{k}": v for k, v in cost_fields(self.doing).items()},
            **{f"total_{k}": v for k, v in cost_fields(self.total).items()},
            **{f"senior_{k}": v for k, v in cost_fields(self.senior).items()},
        }


@dataclass(frozen=True)
class Totals:
    tasks: int
    calls: int
    unreached: int
    refused: int
    template_runs: int
    spend: Cost
    done_tasks: int
    done_spend: Cost
    senior_done: Cost  # the all-senior counterfactual of the done tasks

    @property
    def saving_usd(self) -> float | None:
        """What the done tasks would have cost more all on senior; None when not fully known."""
        actual, senior = self.done_spend.usd, self.senior_done.usd
        return None if actual is None or senior is None else senior - actual

    def to_json(self) -> dict[str, Any]:
        return {
            "tasks": self.tasks,
            "calls": self.calls,
            "unreached": self.unreached,
            "refused": self.refused,
            "template_runs": self.template_runs,
            **{f"spend_{k}": v for k, v in cost_fields(self.spend).items()},
            "done_tasks": self.done_tasks,
            **{f"done_spend_{k}": v for k, v in cost_fields(self.done_spend).items()},
            **{f"senior_done_{k}": v for k, v in cost_fields(self.senior_done).items()},
            "saving_usd": UNKNOWN if self.saving_usd is None else self.saving_usd,
        }


@dataclass(frozen=True)
class Audit:
    repo: str | None
    since: datetime | None
    until: datetime | None
    ladder: tuple[str, ...]
    totals: Totals
    statuses: tuple[tuple[str, int], ...]
    spend: tuple[SpendCell, ...]
    green: tuple[GreenCell, ...]
    funnel: tuple[FunnelStage, ...]
    days: tuple[Day, ...]
    top_tasks: tuple[TaskCost, ...]
    subtask_spend: tuple[SpendCell, ...] = ()  # the spend table of subtasks alone
    features: tuple[FeatureRow, ...] = ()
    assumption: str = field(default=ASSUMPTION)

    @property
    def empty(self) -> bool:
        return self.totals.tasks == 0

    def tables(self) -> dict[str, list[dict[str, Any]]]:
        """Every table as flat rows: the CSV files and the JSON arrays, one and the same."""
        return {
            "totals": [self.totals.to_json()],
            "statuses": [{"status": s, "tasks": n} for s, n in self.statuses],
            "spend": [c.to_json() for c in self.spend],
            "subtask_spend": [c.to_json() for c in self.subtask_spend],
            "features": [f.to_json() for f in self.features],
            "green_rates": [c.to_json() for c in self.green],
            "funnel": [s.to_json() for s in self.funnel],
            "daily": [d.to_json() for d in self.days],
            "top_tasks": [t.to_json() for t in self.top_tasks],
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "scope": {
                "repo": self.repo,
                "since": self.since.isoformat() if self.since else None,
                "until": self.until.isoformat() if self.until else None,
            },
            "ladder": list(self.ladder),
            "empty": self.empty,
            "assumption": self.assumption,
            **self.tables(),
        }
