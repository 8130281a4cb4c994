"""Crafted task histories written to a real SQL ledger the way the engine writes them."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.adapters.ledger import SqlLedger
from bot.core.types import Outcome, Status, Task
from bot.ports import CallRecord

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass(frozen=True)
class Call:
    cost: float | None
    outcome: str = "ok"
    model: str | None = None  # None: "<tier>-model"
    error: str = ""
    tokens: tuple[int | None, int | None] = (1000, 200)


@dataclass(frozen=True)
class Step:
    tier: str
    outcome: Outcome | None  # None: still running
    calls: tuple[Call, ...] = ()
    senior_cost: float | None = 0.05


@dataclass(frozen=True)
class History:
    type: str
    start: str
    steps: tuple[Step, ...]
    status: Status = Status.DONE
    repo: str = "o/r"
    day: int = 0  # days after T0
    title: str = ""
    slug: str = ""
    parent: int | None = None  # a subtask: the index of its feature among the histories played


def play(ledger: SqlLedger, clock: Clock, histories: Sequence[History]) -> list[int]:
    ids = []
    for h in histories:
        clock.now = T0 + timedelta(days=h.day)
        task = Task(
            type=h.type,
            text="",
            title=h.title or f"{h.type} task",
            slug=h.slug or h.type,
            parent_id=None if h.parent is None else ids[h.parent],
        )
        task_id = ledger.start_task(repo=h.repo, task=task, start_tier=h.start, ceiling="senior")
        total: float | None = 0.0
        for number, step in enumerate(h.steps, start=1):
            attempt = ledger.start_attempt(task_id, number=number, tier=step.tier)
            for c in step.calls:
                ledger.record_call(
                    task_id,
                    attempt,
                    CallRecord(
                        tier=step.tier,
                        model=c.model or f"{step.tier}-model",
                        prompt_tokens=c.tokens[0],
                        completion_tokens=c.tokens[1],
                        cost_usd=c.cost,
                        latency_s=1.0,
                        outcome=c.outcome,
                        error=c.error,
                    ),
                )
                if c.outcome != "refused":
                    total = None if total is None or c.cost is None else total + c.cost
            if step.outcome is not None:
                ledger.finish_attempt(
                    attempt,
                    outcome=step.outcome,
                    detail="",
                    commit_sha=None,
                    senior_cost_usd=step.senior_cost,
                )
        if h.status is not Status.RUNNING:
            ledger.finish_task(
                task_id,
                status=h.status,
                reason="",
                branch=None,
                cost_usd=total,
                senior_cost_usd=None,
            )
        ids.append(task_id)
    return ids


PRICE = {"template": 0.0, "intern": 0.004, "junior": 0.01, "senior": 0.06}


def calibration_histories(
    task_type: str,
    pass_rate: Callable[[str, bool], float],
    *,
    starts: Sequence[str],
    per_start: int,
    seed: int = 7,
    repo: str = "o/r",
    ceiling: str = "senior",
) -> list[History]:
    """Tasks of ``task_type`` started at each tier of ``starts`` that climb the ladder
    (intern → junior → senior, two attempts per tier) until one passes or the ceiling fails.

    ``pass_rate(tier, escalated)`` is an attempt's chance to pass; ``escalated`` is True when a
    lower tier already failed on the task, which leaves the higher tier a branch with the lower
    tier's commits on it (history is never rewritten) and a longer prompt: 1.5 x the price.
    """
    rng = random.Random(f"{seed}-{task_type}")
    ladder = ["intern", "junior", "senior"]
    out = []
    for start in starts:
        for _ in range(per_start):
            steps: list[Step] = []
            done = False
            for tier in ladder[ladder.index(start) : ladder.index(ceiling) + 1]:
                escalated = tier != start
                price = PRICE[tier] * (1.5 if escalated else 1.0)
                for _attempt in range(2):
                    ok = rng.random() < pass_rate(tier, escalated)
                    steps.append(
                        Step(
                            tier,
                            Outcome.GREEN if ok else Outcome.CHECK_FAILED,
                            (Call(price),),
                        )
                    )
                    if ok:
                        done = True
                        break
                if done:
                    break
            out.append(
                History(
                    task_type,
                    start,
                    tuple(steps),
                    Status.DONE if done else Status.NEEDS_HUMAN,
                    repo=repo,
                )
            )
    return out
