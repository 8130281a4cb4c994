"""The HTML report's tables: the feature issues, the subtasks' spend and the dearest tasks.

Titles come from issues and are untrusted: every value is escaped. Each feature cell names
its JSON key (``data-key``), so a reader of the page can match it to ``tierbot report --json``.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from bot.audit.export import NO_FEATURES

if TYPE_CHECKING:
    from bot.audit.tables import Audit, FeatureRow, SpendCell


def _e(value: Any) -> str:
    return html.escape(str(value))


def _table(table_id: str, heads: Iterable[str], rows: Iterable[str]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in heads)
    return f'<table id="{table_id}"><tr>{head}</tr>{"".join(rows)}</table>'


def _cell(key: str, content: str) -> str:
    return f'<td data-key="{_e(key)}">{content}</td>'


def _feature_row(f: FeatureRow) -> str:
    ref = _e(f.ref)
    if f.link:
        ref = f'<a href="{_e(f.link)}">{ref}</a>'
    cells = [
        _cell("ref", ref),
        _cell("title", _e(f.title)),
        _cell("status", _e(f.status)),
        _cell("subtasks_done", str(f.subtasks_done)),
        _cell("subtasks", str(f.subtasks)),
        *(_cell(f"done_at_{tier}", str(n)) for tier, n in f.done_at),
        _cell("planning_cost_usd", _e(f.planning)),
        _cell("doing_cost_usd", _e(f.doing)),
        _cell("total_cost_usd", _e(f.total)),
        _cell("senior_cost_usd", _e(f.senior)),
    ]
    return f'<tr data-task="{f.task_id}">{"".join(cells)}</tr>'


def features_table(audit: Audit) -> str:
    """One row per feature issue, or a sentence saying there is none (no table of zeros)."""
    if not audit.features:
        return f'<p id="features-none">{_e(NO_FEATURES)}.</p>'
    tiers = [f"done at {tier}" for tier, _n in audit.features[0].done_at]
    heads = ["feature", "title", "outcome", "subtasks done", "subtasks", *tiers]
    heads += ["planning", "doing", "total", "all on senior"]
    return _table("features-table", heads, (_feature_row(f) for f in audit.features))


def subtask_spend_table(cells: Sequence[SpendCell]) -> str:
    heads = ("type", "tier", "outcome", "subtasks", "calls", "template runs", "cost")
    rows = (
        f"<tr><td>{_e(s.task_type)}</td><td>{_e(s.tier)}</td><td>{_e(s.outcome)}</td>"
        f"<td>{s.tasks}</td><td>{s.calls}</td><td>{s.template_runs}</td><td>{_e(s.cost)}</td></tr>"
        for s in cells
    )
    return _table("subtask-spend-table", heads, rows)


def top_table(audit: Audit) -> str:
    rows = []
    for c in audit.top_tasks:
        title = _e(c.title)
        if c.link:
            title = f'<a href="{_e(c.link)}">{title}</a>'
        rows.append(
            f"<tr><td>{c.task_id}</td><td>{_e(c.task_type)}</td><td>{title}</td>"
            f"<td>{_e(c.status)}</td><td>{_e(c.start_tier)} → "
            f"{_e(c.top_tier)}</td><td>{_e(c.cost)}</td></tr>"
        )
    return _table("top-table", ("task", "type", "title", "status", "tiers", "cost"), rows)
