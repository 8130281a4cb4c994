"""The spend report as JSON and as rich tables."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.report.build import Report

if TYPE_CHECKING:
    from rich.console import Console, JustifyMethod
    from rich.table import Table

LEFT: JustifyMethod = "left"
RIGHT: JustifyMethod = "right"


def report_to_json(report: Report) -> dict[str, Any]:
    """A JSON-ready dict; unknown money is the string "unknown", never 0."""
    return {
        "repo": report.repo,
        "since": report.since.isoformat() if report.since else None,
        "ladder": list(report.ladder),
        "tasks": report.tasks,
        "spend": [
            {
                "task_type": s.task_type,
                "tier": s.tier,
                "calls": s.calls,
                "refused_calls": s.refused_calls,
                "prompt_tokens": s.prompt_tokens,
                "completion_tokens": s.completion_tokens,
                "cost": s.cost.to_json(),
            }
            for s in report.spend
        ],
        "green_rates": [
            {
                "tier": r.tier,
                "attempts": r.attempts,
                "green": r.green,
                "declined": r.declined,
                "running": r.running,
                "rate": r.rate,
            }
            for r in report.green_rates
        ],
        "escalations": [
            {
                "task_id": e.task_id,
                "task_type": e.task_type,
                "title": e.title,
                "start_tier": e.start_tier,
                "top_tier": e.top_tier,
                "steps": e.steps,
                "status": e.status,
            }
            for e in report.escalations
        ],
        "status_counts": dict(report.status_counts),
        "total": report.total.to_json(),
        "counterfactual": {**report.counterfactual.to_json(), "assumption": report.assumption},
        "saving_usd": report.saving_usd,
    }


def render_table(report: Report, console: Console) -> None:
    """Print the report as rich tables."""
    scope = f"repo {report.repo}" if report.repo else "all repos"
    if report.since:
        scope += f", tasks since {report.since.isoformat()}"
    console.print(f"[bold]tierbot spend report[/bold] — {scope}; {report.tasks} tasks")
    for table in (_spend(report), _rates(report), _escalations(report), _statuses(report)):
        console.print(table)
    console.print(_totals(report))
    console.print(f"Counterfactual assumption: {report.assumption}.")


def _table(title: str, columns: dict[str, JustifyMethod]) -> Table:
    """A table with ``columns`` mapped to their justification."""
    from rich.table import Table

    table = Table(title=title)
    for name, justify in columns.items():
        table.add_column(name, justify=justify)
    return table


def _spend(report: Report) -> Table:
    names = ("calls", "refused", "tokens in", "tokens out", "cost")
    spend = _table(
        "Spend by task type × tier", {"type": "left", "tier": "left", **dict.fromkeys(names, RIGHT)}
    )
    for s in report.spend:
        spend.add_row(
            s.task_type,
            s.tier,
            str(s.calls),
            str(s.refused_calls),
            f"{s.prompt_tokens:,}",
            f"{s.completion_tokens:,}",
            str(s.cost),
        )
    return spend


def _rates(report: Report) -> Table:
    names = ("attempts", "green", "declined", "running", "rate")
    rates = _table("Green rate per tier", {"tier": "left", **dict.fromkeys(names, RIGHT)})
    for r in report.green_rates:
        rate = "-" if r.rate is None else f"{r.rate:.0%}"
        rates.add_row(r.tier, str(r.attempts), str(r.green), str(r.declined), str(r.running), rate)
    return rates


def _escalations(report: Report) -> Table:
    names = ("task", "type", "title", "from", "to", "steps", "status")
    esc = _table(f"Escalations ({len(report.escalations)} tasks)", dict.fromkeys(names, LEFT))
    for e in report.escalations:
        esc.add_row(
            str(e.task_id), e.task_type, e.title, e.start_tier, e.top_tier, str(e.steps), e.status
        )
    return esc


def _statuses(report: Report) -> Table:
    statuses = _table("Tasks by status", {"status": "left", "tasks": "right"})
    for status, count in report.status_counts:
        statuses.add_row(status, str(count))
    return statuses


def _totals(report: Report) -> Table:
    totals = _table("Totals", {"": "left", "cost": "right"})
    totals.add_row("actual", str(report.total))
    totals.add_row("all on senior (counterfactual)", str(report.counterfactual))
    if report.saving_usd is not None:
        totals.add_row("saving", f"${report.saving_usd:.4f}")
    return totals
