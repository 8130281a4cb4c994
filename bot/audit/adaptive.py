"""``routing: adaptive``: start a task where the repository's own history says it is cheapest
per done task, explore one tier lower now and then, and say why."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol, runtime_checkable

from bot.config import RepoConfig
from bot.core.calibration import TaskOutcome, explores, recommend
from bot.core.escalation import Ladder
from bot.core.routing import route


@runtime_checkable
class OutcomeHistory(Protocol):
    """Ended tasks of one repository and type (``bot/adapters/ledger_audit.LedgerHistory``)."""

    def task_outcomes(self, repo: str, task_type: str) -> Sequence[TaskOutcome]: ...


@dataclass(frozen=True)
class Start:
    ladder: Ladder
    why: str  # one line for the status output; empty under static routing


def start(config: RepoConfig, task_type: str, repo: str, history: object) -> Start:
    """The ladder a new task climbs. ``history`` is read only under ``routing: adaptive``, and
    only when it can answer (an ``OutcomeHistory``; a ledger without one routes statically)."""
    ladder = route(config, task_type)
    routing = config.routing
    if routing.mode != "adaptive":
        return Start(ladder, "")
    if not isinstance(history, OutcomeHistory):
        return Start(ladder, f"start at {ladder.start} (configured): no history to calibrate on")
    outcomes = history.task_outcomes(repo, task_type)
    rec = recommend(
        task_type,
        outcomes,
        ladder=ladder.tiers,
        configured=ladder.start,
        ceiling=ladder.ceiling,
        min_history=routing.min_history,
    )
    if rec.tier is None:
        return Start(ladder, f"start at {ladder.start} (configured): {rec.reason}")
    tier, why = rec.tier, f"start at {rec.tier} (calibrated on {rec.tasks} tasks): {rec.reason}"
    lowest = ladder.tiers.index(tier)
    if lowest > 0 and explores(len(outcomes), routing.explore):
        tier = ladder.tiers[lowest - 1]
        why = (
            f"start at {tier}: exploring one tier below the calibrated {rec.tier} "
            f"(1 task in {round(1 / routing.explore)} keeps the lower tier's record fresh)"
        )
    return Start(replace(ladder, start=tier), why)
