"""The audit as CSV files (one per table) and back, and as terminal tables."""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from bot.audit.tables import Audit, SpendCell

NO_FEATURES = "none in this scope (no task with subtasks)"

_INT = re.compile(r"-?\d+")


def write_csv(audit: Audit, directory: Path) -> list[Path]:
    """One ``<table>.csv`` per table, its columns the JSON keys; returns the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, rows in audit.tables().items():
        path = directory / f"{name}.csv"
        columns = list(rows[0]) if rows else []
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(columns)
            for row in rows:
                writer.writerow([_cell(row[c]) for c in columns])
        written.append(path)
    return written


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)  # round-trips exactly
    return str(value)


def read_csv(directory: Path) -> dict[str, list[dict[str, Any]]]:
    """The tables ``write_csv`` wrote, typed back: integers, floats, "unknown", None."""
    tables = {}
    for path in sorted(directory.glob("*.csv")):
        with path.open(newline="", encoding="utf-8") as fh:
            tables[path.stem] = [
                {k: _parse(v) for k, v in row.items()} for row in csv.DictReader(fh)
            ]
    return tables


def _parse(text: str) -> Any:
    if text == "":
        return None
    if text in ("true", "false"):
        return text == "true"
    if _INT.fullmatch(text):
        return int(text)
    try:
        return float(text)
    except ValueError:
        return text


def render_table(audit: Audit, console: Console) -> None:
    """The audit as rich tables for a terminal."""
    scope = f"repo {audit.repo}" if audit.repo else "all repos"
    if audit.since:
        scope += f", tasks from {audit.since.isoformat()}"
    if audit.until:
        scope += f", before {audit.until.isoformat()}"
    console.print(f"[bold]tierbot spend report[/bold] — {scope}; {audit.totals.tasks} tasks")
    console.print(_spend(audit.spend, "Spend by task type × tier × outcome"))
    if audit.subtask_spend:
        console.print(_spend(audit.subtask_spend, "Subtasks alone: spend by type × tier × outcome"))
    console.print(_features(audit) if audit.features else f"Feature issues: {NO_FEATURES}.")
    for table in (_rates(audit), _funnel(audit), _top(audit), _totals(audit)):
        console.print(table)
    console.print(f"Counterfactual assumption: {audit.assumption}.")


def _spend(cells: Sequence[SpendCell], title: str) -> Table:
    from rich.table import Table

    spend = Table(title=title)
    heads = ("type", "tier", "outcome", "tasks", "calls", "refused", "tokens in", "tokens out")
    for name in (*heads, "cost"):
        spend.add_column(name, justify="left" if name in heads[:3] else "right")
    for s in cells:
        spend.add_row(
            s.task_type,
            s.tier,
            s.outcome,
            str(s.tasks),
            str(s.calls) + (f" (+{s.template_runs} template)" if s.template_runs else ""),
            str(s.refused),
            f"{s.prompt_tokens:,}",
            f"{s.completion_tokens:,}",
            str(s.cost),
        )
    return spend


def _features(audit: Audit) -> Table:
    from rich.table import Table

    table = Table(title="Feature issues: planning against doing")
    # Six columns fit 80: the outcome goes with the feature, the tiers with the subtasks.
    table.add_column("feature, outcome", overflow="fold", min_width=12)
    table.add_column("subtasks done", overflow="fold", min_width=10)
    for name in ("planning", "doing", "total", "all senior"):
        # An amount is one word no narrower than its column: it wraps between words (an
        # unknown total's explanation), never inside one.
        table.add_column(name, justify="right", min_width=8)
    for f in audit.features:
        tiers = ", ".join(f"{n} {tier}" for tier, n in f.done_at if n)
        table.add_row(
            f"{f.ref}\n{f.title}\n{f.status}",
            f"{f.subtasks_done} of {f.subtasks}" + (f": {tiers}" if tiers else ""),
            str(f.planning),
            str(f.doing),
            str(f.total),
            str(f.senior),
        )
    return table


def _rates(audit: Audit) -> Table:
    from rich.table import Table

    rates = Table(title="Green rate per tier per type")
    for name in ("type", "tier", "attempts", "green", "declined", "running", "rate"):
        rates.add_column(name, justify="left" if name in ("type", "tier") else "right")
    for r in audit.green:
        rate = "-" if r.rate is None else f"{r.rate:.0%}"
        rates.add_row(
            r.task_type,
            r.tier,
            str(r.attempts),
            str(r.green),
            str(r.declined),
            str(r.running),
            rate,
        )
    return rates


def _funnel(audit: Audit) -> Table:
    from rich.table import Table

    funnel = Table(title="Escalation funnel")
    for name in ("tier", "reached", "done here", "climbed", "stopped", "open"):
        funnel.add_column(name, justify="left" if name == "tier" else "right")
    for f in audit.funnel:
        funnel.add_row(
            f.tier, str(f.reached), str(f.done), str(f.climbed), str(f.stopped), str(f.open)
        )
    return funnel


def _top(audit: Audit) -> Table:
    from rich.table import Table

    top = Table(title="Most expensive tasks")
    for name in ("task", "type", "title", "status", "tiers", "cost", "link"):
        top.add_column(name)
    for c in audit.top_tasks:
        top.add_row(
            str(c.task_id),
            c.task_type,
            c.title,
            c.status,
            f"{c.start_tier}→{c.top_tier}",
            str(c.cost),
            c.link or "",
        )
    return top


def _totals(audit: Audit) -> Table:
    from rich.table import Table

    t = audit.totals
    totals = Table(title="Totals")
    totals.add_column("")
    totals.add_column("", justify="right")
    totals.add_row("calls that reached a model server", str(t.calls))
    totals.add_row("not made: refused by the budget", str(t.refused))
    totals.add_row("failed to connect", str(t.unreached))
    totals.add_row("template-tier runs (free)", str(t.template_runs))
    totals.add_row("spend, all tasks", str(t.spend))
    totals.add_row(f"spend, {t.done_tasks} done tasks", str(t.done_spend))
    totals.add_row("done tasks all on senior (counterfactual)", str(t.senior_done))
    saving = t.saving_usd
    totals.add_row("saving on done tasks", "unknown" if saving is None else f"${saving:.4f}")
    return totals
