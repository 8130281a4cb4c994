"""Triage an issue with no type: free when the words decide, else one call to the cheapest tier."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from bot.config import RepoConfig
from bot.core import budget as money
from bot.core.plan_checks import plan_types
from bot.core.routing import describe_types
from bot.core.state import money as shown
from bot.core.triage import UNCLEAR, fallback, parse_triage, triage, triage_messages
from bot.core.triage_words import FEATURE
from bot.core.types import Outcome, Status
from bot.engine import make_task
from bot.orchestrator.service import Orchestrator
from bot.prompts import file_prompts

TRIAGE_TYPE = "triage"  # the ledger row that carries the triage call


@dataclass(frozen=True)
class Decision:
    type: str  # a task type, or "feature": the orchestrator
    reason: str
    source: str  # "keywords", "model", "fallback" or "dry-run"
    cost_usd: float | None = 0.0
    tier: str = ""  # the tier asked, when one was

    @property
    def orchestrate(self) -> bool:
        return self.type == FEATURE

    def line(self) -> str:
        """The status comment's line: the type, why, and what deciding it cost."""
        if self.source == "keywords":
            how = "keywords, $0"
        elif self.source == "dry-run":
            how = "dry run: no model call"
        else:
            how = f"asked the {self.tier or 'triage'} tier, {shown(self.cost_usd)}"
        kind = "feature, planned by the orchestrator" if self.orchestrate else self.type
        return f"**Triage:** {kind} — {self.reason} ({how})"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Decision:
        cost = data.get("cost_usd")
        return cls(
            type=str(data.get("type", FEATURE)),
            reason=str(data.get("reason", "")),
            source=str(data.get("source", "")),
            cost_usd=float(cost) if isinstance(cost, int | float) else None,
            tier=str(data.get("tier", "")),
        )


def triage_tier(config: RepoConfig) -> str:
    """``plan.triage_tier``, else the ladder's first model tier."""
    if config.plan.triage_tier:
        return config.plan.triage_tier
    return next(n for n in config.ladder if not config.tier(n).is_template)


def decide(
    text: str, config: RepoConfig, orchestrator: Orchestrator | None, *, repo: str
) -> Decision:
    """The type of an untyped issue. ``orchestrator`` None: make no call (a dry run)."""
    known = plan_types(config.task_types)
    words = triage(text, known)
    if words.decision != UNCLEAR:
        return Decision(words.decision, words.reason, words.source)
    tier = config.tier(triage_tier(config))
    if orchestrator is None:
        return Decision(
            FEATURE, f"{words.reason}; a real run asks the {tier.name} tier once", "dry-run"
        )
    messages = triage_messages(text, describe_types(config, sorted(known)), prompts=file_prompts())
    ledger = orchestrator.ledger
    task = make_task(text, TRIAGE_TYPE)
    task_id = ledger.start_task(repo=repo, task=task, start_tier=tier.name, ceiling=tier.name)
    attempt_id = ledger.start_attempt(task_id, number=1, tier=tier.name)
    metered = orchestrator.engine.attempts.meter.call(
        tier,
        messages,
        scope=money.scope_for(repo, f"task:{task_id}"),
        budget=config.budget,
        task_id=task_id,
        attempt_id=attempt_id,
    )
    if metered.completion is None:
        picked = fallback(f"the triage call failed ({metered.kind})")
    else:
        picked = parse_triage(metered.completion.text, known)
    outcome = metered.outcome if metered.completion is None else Outcome.GREEN
    ledger.finish_attempt(
        attempt_id, outcome=outcome, detail=picked.reason, commit_sha=None, senior_cost_usd=None
    )
    ledger.finish_task(
        task_id,
        status=Status.DONE,
        reason=f"{picked.decision}: {picked.reason}",
        branch=None,
        cost_usd=metered.cost_usd,
        senior_cost_usd=None,
    )
    return Decision(picked.decision, picked.reason, picked.source, metered.cost_usd, tier.name)
