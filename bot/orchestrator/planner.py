"""The planner's turn: one metered call over the fenced issue and the repository map, and the
one retry with the reasons when its plan is rejected."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bot.config import RepoConfig
from bot.core import budget as money
from bot.core.context import ContextTooLarge, build_context
from bot.core.plan import PLANNER_ATTEMPTS, Plan
from bot.core.plan_checks import Accepted, plan_types, review_answer
from bot.core.plan_run import PlannerRun
from bot.core.planning import context_paths, planner_messages, subtask_task
from bot.core.routing import describe_types
from bot.core.types import Message, Outcome, Usage
from bot.engine import Engine
from bot.metering import Meter
from bot.ports import Ledger, Workspace
from bot.prompts import file_prompts


@dataclass(frozen=True)
class Planned:
    """The planning step's end: a plan, or why there is none (then the single ladder runs)."""

    plan: Plan | None
    planner: PlannerRun
    notes: tuple[str, ...] = ()  # one line per rejected plan or failed call, for the status
    budget_stop: bool = False  # the planner's call itself was refused by a budget
    answers: tuple[str, ...] = field(default=(), repr=False)


def planner_prompt(
    config: RepoConfig, text: str, workspace: Workspace, feedback: str = ""
) -> list[Message]:
    """The planner's messages; raises ContextTooLarge when not even the map fits its tier."""
    tier = config.tier(config.plan.tier)
    context = build_context(
        text, workspace.list_files(), workspace.read, tier.context_tokens - tier.max_tokens
    )
    known = sorted(plan_types(config.task_types))
    return planner_messages(
        context,
        types=describe_types(config, known),
        max_subtasks=config.plan.max_subtasks,
        protected=config.paths.protected,
        feedback=feedback,
        prompts=file_prompts(),
    )


def make_plan(
    *,
    config: RepoConfig,
    meter: Meter,
    ledger: Ledger,
    text: str,
    workspace: Workspace,
    task_id: int,
    scope: money.Scope,
    senior_cost: Callable[[Usage], float | None],
    progress: Callable[[str], None] = lambda _line: None,
) -> Planned:
    """Ask the planner tier for a plan; ask once more with the reasons if it is rejected."""
    tier = config.tier(config.plan.tier)
    known = plan_types(config.task_types)
    notes: list[str] = []
    answers: list[str] = []
    cost: float | None = 0.0
    senior: float | None = 0.0
    feedback = ""
    for attempt in range(1, PLANNER_ATTEMPTS + 1):
        attempt_id = ledger.start_attempt(task_id, number=attempt, tier=tier.name)
        try:
            messages = planner_prompt(config, text, workspace, feedback)
        except ContextTooLarge as exc:
            _finish(ledger, attempt_id, Outcome.CONTEXT_EXCEEDED, str(exc), 0.0)
            notes.append(f"the issue does not fit the planner's context: {exc}")
            break
        progress(f"[plan {attempt}] {tier.name}: asking for a plan")
        at = {"task_id": task_id, "attempt_id": attempt_id}
        metered = meter.call(tier, messages, scope=scope, budget=config.budget, **at)
        cost = _add(cost, metered.cost_usd)
        call_senior = senior_cost(metered.usage) if metered.ok else 0.0
        senior = _add(senior, call_senior)
        run = PlannerRun(tier.name, attempt, cost, senior)
        if metered.completion is None:
            _finish(ledger, attempt_id, metered.outcome, metered.message, call_senior)
            why = metered.message if metered.refused else f"{metered.kind}: {metered.message}"
            notes.append(f"the planner's call failed ({why})")
            return Planned(None, run, tuple(notes), metered.refused, tuple(answers))
        answers.append(metered.completion.text)
        verdict = review_answer(
            metered.completion.text,
            attempt=attempt,
            known_types=known,
            policy=config.paths,
            max_subtasks=config.plan.max_subtasks,
        )
        if isinstance(verdict, Accepted):
            size = f"{len(verdict.plan.subtasks)} subtasks"
            _finish(ledger, attempt_id, Outcome.GREEN, f"plan of {size}", call_senior)
            progress(f"[plan {attempt}] {tier.name}: {size}")
            return Planned(verdict.plan, run, tuple(notes), False, tuple(answers))
        _finish(ledger, attempt_id, Outcome.INVALID_EDIT, verdict.message[:500], call_senior)
        progress(f"[plan {attempt}] {verdict.message}")
        notes.append(verdict.message)
        if not verdict.retry:
            break
        feedback = verdict.feedback
    return Planned(None, PlannerRun(tier.name, len(answers) or 1, cost, senior), tuple(notes))


def _finish(
    ledger: Ledger, attempt_id: int, outcome: Outcome, detail: str, senior: float | None
) -> None:
    """A planner attempt commits nothing; its senior figure is what the call would cost there."""
    ledger.finish_attempt(
        attempt_id, outcome=outcome, detail=detail, commit_sha=None, senior_cost_usd=senior
    )


def _add(total: float | None, value: float | None) -> float | None:
    return None if total is None or value is None else total + value


def worst_per_call(
    engine: Engine, config: RepoConfig, plan: Plan, workspace: Workspace
) -> dict[str, float | None]:
    """Each tier's worst call over the plan's subtask prompts as the branch stands now."""
    worst: dict[str, float | None] = {}
    for name in config.ladder:
        tier = config.tier(name)
        if tier.is_template:
            worst[name] = 0.0
            continue
        calls: list[float | None] = []
        for subtask in plan.subtasks:
            task = subtask_task(plan, subtask, slug="plan", parent_id=None)
            try:
                messages = engine.prompt(
                    tier, task, workspace, touched=context_paths(plan, subtask)
                )
            except ContextTooLarge:
                continue  # that attempt ends before any call: it costs nothing
            calls.append(engine.worst_case(tier, money.prompt_bound(messages)))
        worst[name] = (
            None if any(c is None for c in calls) else max([c or 0.0 for c in calls] or [0.0])
        )
    return worst
