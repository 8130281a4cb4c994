"""A plan's run as the Markdown table of the PR body and the status comment."""

from __future__ import annotations

from bot.core.plan_run import PlanRun
from bot.core.state import money

ICONS = {"pending": "…", "running": "⏳", "done": "✅", "failed": "❌", "needs-human": "🙋"}


def _cell(text: str, limit: int = 80) -> str:
    flat = " ".join(text.split()).replace("|", "\\|").replace("<", "&lt;")
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def render_plan_table(run: PlanRun) -> str:
    """The plan as a Markdown table: who did each part, in how many attempts, for how much."""
    lines = [
        "| subtask | type | tier | attempts | cost | state |",
        "| - | - | - | - | - | - |",
        f"| plan | — | {run.planner.tier} | {run.planner.attempts} | "
        f"{money(run.planner.cost_usd)} | ✅ done |",
    ]
    for subtask, state in zip(run.plan.subtasks, run.subtasks, strict=True):
        hard = " (hard)" if subtask.hard else ""
        icon = ICONS.get(str(state.state), "⏹️")
        lines.append(
            f"| `{_cell(subtask.id, 40)}` {_cell(subtask.title)}{hard} | {_cell(subtask.type, 20)} "
            f"| {state.tier or '—'} | {len(state.attempts)} | {money(state.cost_usd)} "
            f"| {icon} {state.state} |"
        )
    lines += [
        "",
        f"**Total:** {money(run.cost_usd)} (all on senior: {money(run.senior_cost_usd)})",
    ]
    return "\n".join(lines)
