"""What ``tierbot run --type feature`` would do, changing nothing: ``--plan-only`` (one planner
call, the plan and its estimate) and ``--dry-run`` (no call: the planner's tier and the worst case
of the whole run)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from bot.config import RepoConfig
from bot.core import budget as money
from bot.core.context import ContextTooLarge
from bot.core.orchestration import admit_plan, calls_per_tier, climb, schedule
from bot.core.plan import PLANNER_ATTEMPTS, Plan
from bot.core.plan_checks import plan_types
from bot.core.plan_run import PlanRun
from bot.core.plan_table import render_plan_table
from bot.core.planning import template_request
from bot.core.routing import route
from bot.core.state import money as shown
from bot.core.templates import Declined, NothingToDo, generate
from bot.core.types import Status, Task
from bot.orchestrator.planner import planner_prompt
from bot.orchestrator.service import Orchestrator
from bot.ports import Workspace

if TYPE_CHECKING:
    from bot.orchestrator.local import Local

# -- --plan-only -----------------------------------------------------------------------------


def plan_only(local: Local, task: Task, view: Workspace, as_json: bool) -> int:
    orchestrator = local.orchestrator()
    task_id, scope = orchestrator.start(task)
    planned = orchestrator.plan(task, view, task_id, scope)
    plan = planned.plan
    reason = "plan only: nothing was changed"
    status = Status.DONE if plan is not None else Status.NEEDS_HUMAN
    if plan is None:
        reason = "no usable plan: " + "; ".join(planned.notes)
    orchestrator.ledger.finish_task(
        task_id,
        status=Status.BUDGET_STOP if planned.budget_stop else status,
        reason=reason,
        branch=None,
        cost_usd=planned.planner.cost_usd,
        senior_cost_usd=planned.planner.senior_cost_usd,
    )
    estimate = None if plan is None else _estimate(orchestrator, plan, view, scope)
    if as_json:
        data: dict[str, Any] = {
            "status": "planned" if plan else "rejected",
            "notes": list(planned.notes),
            "planner": {
                "tier": planned.planner.tier,
                "attempts": planned.planner.attempts,
                "cost_usd": planned.planner.cost_usd,
            },
            "plan": plan.to_json() if plan else None,
            "estimate": estimate,
        }
        click.echo(local.redactor.tokens(json.dumps(data, indent=2)))
        return 0 if plan else 1
    for note in planned.notes:
        click.echo(local.redactor(f"note: {note}"))
    if plan is None:
        click.echo(local.redactor(reason))
        return 1
    assert estimate is not None
    click.echo(local.redactor(f"plan: {plan.summary}"))
    click.echo(render_plan_table(PlanRun.start(plan, planned.planner)))
    click.echo("")
    for row in estimate["subtasks"]:
        click.echo(
            local.redactor(
                f"  {row['id']}: {row['type']}, starts at {row['start']} "
                f"(ceiling {row['ceiling']}){'; ' + row['template'] if row['template'] else ''}"
            )
        )
    click.echo(
        f"planning cost {shown(planned.planner.cost_usd)}; "
        f"subtasks: {shown(estimate['cheapest_usd'])} if each succeeds at once, "
        f"{shown(estimate['worst_usd'])} at worst; {estimate['budget']}"
    )
    click.echo("plan only: no branch, no commit")
    return 0


def _estimate(
    orchestrator: Orchestrator, plan: Plan, view: Workspace, scope: money.Scope
) -> dict[str, Any]:
    sched = schedule(plan, orchestrator.config)
    worst = orchestrator.worst_per_call(plan, view)
    left = money.remaining(orchestrator.config.budget, orchestrator.ledger.spent(scope))
    fit = admit_plan(plan, sched.ladders, worst, left)
    rows = []
    for subtask in plan.subtasks:
        ladder = sched.ladders[subtask.id]
        note = ""
        if orchestrator.config.tier(ladder.start).is_template:
            made = generate(template_request(subtask, view.list_files(), view.read))
            if isinstance(made, Declined):
                note = f"the template tier declines: {made.reason}"
            elif isinstance(made, NothingToDo):
                note = f"the template tier finds nothing to do: {made.reason}"
            else:
                note = "the template tier would write " + ", ".join(made.paths)
        rows.append(
            {
                "id": subtask.id,
                "type": subtask.type,
                "start": ladder.start,
                "ceiling": ladder.ceiling,
                "template": note,
            }
        )
    return {
        "subtasks": rows,
        "cheapest_usd": fit.cheapest_usd,
        "worst_usd": fit.worst_usd,
        "fits": fit.fits,
        "budget": fit.reason,
    }


# -- --dry-run -------------------------------------------------------------------------------


def dry_run(local: Local, task: Task, view: Workspace, as_json: bool) -> int:
    """No model call: the planner's tier and prompt, and the worst case of the whole run."""
    from bot.adapters.prices import load_price_table

    config = local.config
    prices = load_price_table()
    tier = config.tier(config.plan.tier)
    price = money.price_for(tier, prices)
    try:
        prompt = money.prompt_bound(planner_prompt(config, task.text, view))
        planner_worst = money.worst_case(price, prompt, tier.max_tokens)
        too_large = ""
    except ContextTooLarge as exc:
        prompt, planner_worst, too_large = 0, 0.0, str(exc)
    subtasks_worst = _subtasks_bound(config, prices)
    planning = None if planner_worst is None else planner_worst * PLANNER_ATTEMPTS
    total = None if planning is None or subtasks_worst is None else planning + subtasks_worst
    cap = config.budget.per_task_usd
    data = {
        "task_type": task.type,
        "planner": {
            "tier": tier.name,
            "model": tier.model,
            "prompt_tokens": prompt,
            "max_output_tokens": tier.max_tokens,
            "worst_per_call_usd": planner_worst,
            "max_calls": PLANNER_ATTEMPTS,
            "note": too_large,
        },
        "max_subtasks": config.plan.max_subtasks,
        "subtasks_worst_usd": subtasks_worst,
        "worst_total_usd": total,
        "budget_usd": cap,
    }
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return 0
    click.echo(f"plan for a {task.type} issue (dry run: no model call, no commit)")
    click.echo(
        f"  planner   {tier.name} ({tier.model}): ~{prompt} tokens in, up to {tier.max_tokens} "
        f"out; worst case {shown(planner_worst)}/call, up to {PLANNER_ATTEMPTS} calls"
        + (f"; {too_large}" if too_large else "")
    )
    click.echo(
        f"  subtasks  up to {config.plan.max_subtasks}, each climbing its type's ladder: "
        f"worst case {shown(subtasks_worst)} with every prompt at its tier's context limit"
    )
    click.echo(
        f"worst case for the whole feature: {shown(total)}; the per-task budget "
        f"(${cap:g}) stops it before that"
    )
    return 0


def _subtasks_bound(config: RepoConfig, prices: Any) -> float | None:
    """``max_subtasks`` subtasks of the costliest plan type, every call at its worst."""
    worst_type = 0.0
    for name in plan_types(config.task_types):
        ladder = route(config, name)
        total = 0.0
        for tier_name in climb(ladder):
            tier = config.tier(tier_name)
            if tier.is_template:
                continue
            call = money.worst_case(
                money.price_for(tier, prices),
                tier.context_tokens - tier.max_tokens,
                tier.max_tokens,
            )
            if call is None:
                return None
            total += call * calls_per_tier(ladder)
        worst_type = max(worst_type, total)
    return worst_type * config.plan.max_subtasks
