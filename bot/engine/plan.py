"""A dry run's plan: which tiers a task would try, with token and worst-case cost estimates."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from bot.config import Price
from bot.core.context import ContextTooLarge
from bot.core.escalation import LOCAL_RETRIES
from bot.core.routing import route
from bot.core.templates import Declined, NothingToDo, generate
from bot.core.types import Task
from bot.engine.attempts import StepPrompts
from bot.engine.loop import Engine
from bot.ports import Workspace


@dataclass(frozen=True)
class PlannedTier:
    tier: str
    model: str
    price: Price | None
    prompt_tokens: int
    max_output_tokens: int
    worst_per_call_usd: float | None
    max_calls: int
    note: str = ""


@dataclass(frozen=True)
class Plan:
    task_type: str
    tiers: tuple[PlannedTier, ...]
    budget_usd: float

    @property
    def worst_total_usd(self) -> float | None:
        total = 0.0
        for t in self.tiers:
            if t.worst_per_call_usd is None:
                return None
            total += t.worst_per_call_usd * t.max_calls
        return total

    def to_json(self) -> dict[str, Any]:
        return {
            "task_type": self.task_type,
            "budget_usd": self.budget_usd,
            "worst_total_usd": self.worst_total_usd,
            "tiers": [asdict(t) for t in self.tiers],
        }


def plan(engine: Engine, task: Task, workspace: Workspace) -> Plan:
    """What ``run`` would try, with token and cost estimates; no call, no write, no ledger row."""
    ladder = route(engine.config, task.type)
    tiers = ladder.tiers[ladder.tiers.index(ladder.start) : ladder.tiers.index(ladder.ceiling) + 1]
    prompts = StepPrompts(engine.attempts, task, workspace, tiers)
    rows = []
    for name in tiers:
        tier = engine.config.tier(name)
        if tier.is_template:
            result = generate(engine.attempts.template_request(task, workspace))
            if isinstance(result, Declined):
                note = f"declines: {result.reason}"
            elif isinstance(result, NothingToDo):
                note = f"ends the task, nothing to do: {result.reason}"
            else:
                note = "would write " + ", ".join(result.paths)
            rows.append(PlannedTier(name, "template", Price(0, 0), 0, 0, 0.0, 1, note))
            continue
        messages = prompts.messages(tier)
        rows.append(
            PlannedTier(
                name,
                tier.model or "",
                engine.price(tier),
                # The bound prices the worst case; as an estimate it never passes the context.
                min(prompts.prompt_tokens(tier), tier.context_tokens - tier.max_tokens),
                tier.max_tokens,
                prompts[name],
                ladder.attempts + LOCAL_RETRIES,
                str(messages) if isinstance(messages, ContextTooLarge) else "",
            )
        )
    return Plan(task.type, tuple(rows), engine.config.budget.per_task_usd)
