"""Where a task type should start: each start tier's record in one repository, and the tier
that minimises the expected cost per *done* task.

Pure: the history is handed in (``bot/adapters/ledger_audit.py: task_outcomes`` reads it).
A start tier's record covers every task that started there, whatever tier finished it, so
the cost of escalations (and of tasks that ended without a result) is charged to the start
tier that caused them: expected cost per done task = all money spent on those tasks / the
tasks that ended done.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

Z_95 = 1.959963984540054  # two-sided 95 %
MIN_PER_START = 5  # tasks a start tier needs before its numbers are compared at all


@dataclass(frozen=True)
class TaskOutcome:
    """One ended task: where it started, whether it ended done, and what it cost in all."""

    task_type: str
    start_tier: str
    done: bool
    cost_usd: float | None  # None: some of its cost is unknown


def wilson(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion; (0, 1) when there is no data."""
    if n <= 0:
        return (0.0, 1.0)
    if not 0 <= successes <= n:
        raise ValueError(f"{successes} successes out of {n}")
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class StartRecord:
    """Tasks of one type that started at one tier."""

    tier: str
    tasks: int
    done: int
    known_cost_usd: float  # summed over the tasks whose cost is known
    unknown_cost: int  # tasks with some unknown cost (left out of the mean)

    @property
    def done_rate(self) -> float | None:
        return self.done / self.tasks if self.tasks else None

    @property
    def interval(self) -> tuple[float, float]:
        return wilson(self.done, self.tasks)

    @property
    def cost_per_done_usd(self) -> float | None:
        """Known spend scaled to all tasks, per done task; None without a done task or a price."""
        priced = self.tasks - self.unknown_cost
        if not self.done or not priced:
            return None
        return self.known_cost_usd * (self.tasks / priced) / self.done


@dataclass(frozen=True)
class Recommendation:
    """The calibration of one task type: its records and the start tier it should use."""

    task_type: str
    configured: str
    records: tuple[StartRecord, ...]
    tier: str | None  # None: not enough history to say
    reason: str
    needed: int = 0  # more ended tasks needed before a recommendation (0: enough)

    @property
    def tasks(self) -> int:
        return sum(r.tasks for r in self.records)

    @property
    def changes(self) -> bool:
        return self.tier is not None and self.tier != self.configured


def records(outcomes: Iterable[TaskOutcome], ladder: Sequence[str]) -> tuple[StartRecord, ...]:
    """Each start tier's record, in ladder order (tiers no longer on the ladder last)."""
    by_tier: dict[str, list[TaskOutcome]] = {}
    for o in outcomes:
        by_tier.setdefault(o.start_tier, []).append(o)

    def order(tier: str) -> tuple[int, str]:
        return (ladder.index(tier), "") if tier in ladder else (len(ladder), tier)

    return tuple(
        StartRecord(
            tier=tier,
            tasks=len(items),
            done=sum(o.done for o in items),
            known_cost_usd=sum(o.cost_usd or 0.0 for o in items),
            unknown_cost=sum(o.cost_usd is None for o in items),
        )
        for tier, items in sorted(by_tier.items(), key=lambda kv: order(kv[0]))
    )


def recommend(
    task_type: str,
    outcomes: Iterable[TaskOutcome],
    *,
    ladder: Sequence[str],
    configured: str,
    ceiling: str,
    min_history: int,
    min_per_start: int = MIN_PER_START,
) -> Recommendation:
    """The start tier with the lowest expected cost per done task, or None with what is missing.

    Only start tiers on the ladder up to ``ceiling`` with ``min_per_start`` tasks compete, and
    only those whose done rate is not clearly worse than the best one's (their Wilson
    intervals overlap): a cheap start that fails more often is not a saving when it hands
    the work to a human.
    """
    mine = [o for o in outcomes if o.task_type == task_type]
    recs = records(mine, ladder)
    ended = len(mine)
    if ended < min_history:
        need = min_history - ended
        return Recommendation(
            task_type,
            configured,
            recs,
            None,
            f"{ended} ended {task_type} task(s); {need} more needed before calibrating",
            needed=need,
        )
    allowed = set(ladder[: ladder.index(ceiling) + 1]) if ceiling in ladder else set(ladder)
    eligible = [
        r
        for r in recs
        if r.tier in allowed and r.tasks >= min_per_start and r.cost_per_done_usd is not None
    ]
    if not eligible:
        thin = [r for r in recs if r.tier in allowed and r.tasks < min_per_start]
        need = max((min_per_start - r.tasks for r in thin), default=min_per_start)
        return Recommendation(
            task_type,
            configured,
            recs,
            None,
            f"no start tier has {min_per_start} {task_type} tasks with a done task and a "
            "known cost yet",
            needed=need,
        )
    best = max(eligible, key=lambda r: r.done_rate or 0.0)
    good = [r for r in eligible if r.interval[1] >= best.interval[0]]
    # Equal costs (two free tiers) go to the lower tier: it leaves the dearer tier for later.
    chosen = min(good, key=lambda r: (r.cost_per_done_usd, ladder.index(r.tier)))
    assert chosen.cost_per_done_usd is not None and chosen.done_rate is not None
    low, high = chosen.interval
    reason = (
        f"{chosen.tier} start: {chosen.done}/{chosen.tasks} done "
        f"({chosen.done_rate:.0%}, 95% CI {low:.0%}–{high:.0%}), "
        f"${chosen.cost_per_done_usd:.4f} per done task incl. escalations"
    )
    return Recommendation(task_type, configured, recs, chosen.tier, reason)


def explores(history_tasks: int, share: float) -> bool:
    """Whether the next task explores one tier lower: every ``1/share``-th task, so the share
    is exact over time and a run is reproducible (no random draw)."""
    if share <= 0:
        return False
    period = max(1, round(1 / share))
    return history_tasks % period == period - 1
