"""Decide what a task does next from its attempt history, its last outcome and its budget."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from bot.core.types import LOCAL_FAILURES, AttemptRecord, Outcome

# A local validation failure (bad format, policy, syntax) gets one retry at the same tier with
# the error in the prompt; after that the next tier is likely a better use of money.
LOCAL_RETRIES = 1


class StepKind(StrEnum):
    CALL = "call"  # run an attempt at ``tier``
    DONE = "done"
    NEEDS_HUMAN = "needs-human"
    BUDGET_STOP = "budget-stop"
    NOTHING_TO_DO = "nothing-to-do"


@dataclass(frozen=True)
class Ladder:
    """The part of the configuration escalation depends on, for one task type."""

    tiers: tuple[str, ...]
    start: str
    ceiling: str
    attempts: int  # attempts per tier after a failing check
    # Tiers whose output is a function of the repository alone (the template tier): the
    # feedback of a retry changes nothing there, so a refusal is never retried identically.
    fixed: tuple[str, ...] = ()


@dataclass(frozen=True)
class BudgetView:
    """Money left for this task, and the worst case of one call at each tier.

    ``worst_case[tier] is None`` means the price of that tier is unknown, so the call
    cannot be bounded and is refused.
    """

    remaining_usd: float
    worst_case: Mapping[str, float | None]


@dataclass(frozen=True)
class Step:
    kind: StepKind
    tier: str | None = None
    reason: str = ""
    retry: bool = False  # the same tier again, with feedback from the last attempt


def next_step(
    ladder: Ladder,
    history: Sequence[AttemptRecord],
    outcome: Outcome | None,
    budget: BudgetView,
) -> Step:
    """Pure escalation policy. ``outcome`` is the last attempt's (None before the first)."""
    if outcome is None:
        return _admit(ladder.start, budget, "start", retry=False)
    if not history:
        raise ValueError("an outcome needs the attempt it came from in the history")
    current = history[-1].tier
    if outcome is Outcome.GREEN:
        return Step(StepKind.DONE, current, "check passed")
    if outcome is Outcome.NOTHING_TO_DO:
        return Step(StepKind.NOTHING_TO_DO, current, history[-1].detail or "nothing to do")
    if outcome is Outcome.AUTH_ERROR:
        # The detail names the cause: an unset variable, or the provider refusing the key.
        return Step(
            StepKind.NEEDS_HUMAN,
            current,
            history[-1].detail
            or f"the {current} tier's provider refused the API key; fix the key and re-run",
        )
    if outcome is Outcome.BUDGET:
        return Step(StepKind.BUDGET_STOP, current, history[-1].detail or "budget reached")

    streak = _same_tier_streak(history)
    if current in ladder.fixed:
        return _climb(ladder, current, outcome, budget)
    if outcome in LOCAL_FAILURES:
        local = sum(1 for a in streak if a.outcome in LOCAL_FAILURES)
        if local <= LOCAL_RETRIES:
            return _admit(current, budget, f"retry {current} with the {outcome} error", retry=True)
    elif outcome is Outcome.CHECK_FAILED:
        failed = sum(1 for a in streak if a.outcome is Outcome.CHECK_FAILED)
        if failed < ladder.attempts:
            return _admit(current, budget, f"retry {current} with the check log", retry=True)
    return _climb(ladder, current, outcome, budget)


def _same_tier_streak(history: Sequence[AttemptRecord]) -> list[AttemptRecord]:
    tier = history[-1].tier
    streak: list[AttemptRecord] = []
    for record in reversed(history):
        if record.tier != tier:
            break
        streak.append(record)
    return streak


def _climb(ladder: Ladder, current: str, outcome: Outcome, budget: BudgetView) -> Step:
    if current == ladder.ceiling or current not in ladder.tiers:
        return Step(
            StepKind.NEEDS_HUMAN,
            current,
            f"ceiling {ladder.ceiling} reached after {outcome}",
        )
    following = ladder.tiers[ladder.tiers.index(current) + 1]
    verb = "pass to" if outcome is Outcome.DECLINED else "escalate to"
    reason = f"{verb} {following} after {outcome} at {current}"
    return _admit(following, budget, reason, retry=False)


def _admit(tier: str, budget: BudgetView, reason: str, *, retry: bool) -> Step:
    worst = budget.worst_case.get(tier)
    if worst is None:
        return Step(
            StepKind.BUDGET_STOP,
            tier,
            f"no price is known for the {tier} tier, so its cost cannot be bounded; "
            f"set tiers.{tier}.price",
        )
    if worst > budget.remaining_usd:
        return Step(
            StepKind.BUDGET_STOP,
            tier,
            f"the next {tier} call could cost up to ${worst:.4f}, "
            f"more than the ${max(budget.remaining_usd, 0):.4f} left",
        )
    return Step(StepKind.CALL, tier, reason, retry=retry)
