"""The engine every use shares: one task climbs the tier ladder until the check decides.

Decisions come from the pure core (routing, escalation, budget, edit parsing, path policy);
the engine gathers their inputs through the ports, records everything in the ledger and hands
every write to the executor. ``state.py`` holds a run's state, ``attempts.py`` one attempt,
``loop.py`` the loop, ``plan.py`` a dry run's plan.
"""

from bot.core.types import slugify
from bot.engine.attempts import Attempts, StepPrompts
from bot.engine.loop import Engine
from bot.engine.plan import Plan, PlannedTier, plan
from bot.engine.state import (
    AttemptSummary,
    Pending,
    Produced,
    RunResult,
    TaskRun,
    make_task,
    record_end,
)
from bot.engine.step import Opened

__all__ = [
    "AttemptSummary",
    "Attempts",
    "Engine",
    "Opened",
    "Pending",
    "Plan",
    "PlannedTier",
    "Produced",
    "RunResult",
    "StepPrompts",
    "TaskRun",
    "make_task",
    "plan",
    "record_end",
    "slugify",
]
