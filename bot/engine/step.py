"""An opened step: a task's next attempt, begun, its prompt built, perhaps already answered."""

from __future__ import annotations

from dataclasses import dataclass

from bot.engine.attempts import StepPrompts
from bot.engine.state import Produced, TaskRun
from bot.metering import Metered


@dataclass(frozen=True)
class Opened:
    """The attempt ``number`` at ``tier`` of the task ``state``: its ledger row and the prompts
    priced for it. ``asked`` is the model's answer when the call was made ahead of the loop
    (``Engine.ask``: a plan's wave), or a ``Produced`` that ended the attempt before any call
    (the prompt does not fit the tier)."""

    state: TaskRun
    attempt_id: int
    number: int
    tier: str
    prompts: StepPrompts
    asked: Metered | Produced | None = None
