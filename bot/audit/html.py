"""The audit as one self-contained HTML page: plotly charts with plotly.js inlined, so the
file opens with no network, and the report's JSON embedded for anyone who wants the numbers.

Task titles come from issues and are untrusted: everything written into the page outside
plotly's own JSON is escaped.
"""

from __future__ import annotations

import html
import json
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from bot.audit.html_tables import features_table, subtask_spend_table, top_table

if TYPE_CHECKING:
    from bot.audit.tables import Audit

INSTALL_HINT = "the HTML report needs plotly: pip install 'tierbot[report]'"
# Chart ids, in page order; the browser test finds every chart by them.
CHARTS = ("spend", "green", "funnel", "over-time", "top-tasks")


class MissingExtra(RuntimeError):
    """An optional dependency of one output format is not installed."""


def plotly_module() -> Any:
    """``plotly.graph_objects``; raises ``MissingExtra`` when plotly is not installed."""
    try:
        import plotly.graph_objects as go
    except ImportError as exc:
        raise MissingExtra(INSTALL_HINT) from exc
    return go


def render_html(audit: Audit) -> str:
    """The page; raises ``MissingExtra`` when plotly is not installed."""
    go = plotly_module()
    from plotly.offline import get_plotlyjs

    data = audit.to_json()
    charts = "\n".join(
        "<section>"
        + figure.to_html(full_html=False, include_plotlyjs=False, div_id=name)
        + "</section>"
        for name, figure in zip(CHARTS, _figures(go, audit), strict=True)
    )
    embedded = json.dumps(data, sort_keys=True).replace("</", "<\\/")
    return _PAGE.format(
        title=html.escape(_scope(audit)),
        plotly=get_plotlyjs(),
        summary=_summary(audit),
        charts=charts,
        top=top_table(audit),
        features=features_table(audit),
        subtasks=_subtasks(audit),
        assumption=html.escape(audit.assumption),
        data=embedded,
    )


def _scope(audit: Audit) -> str:
    scope = f"repo {audit.repo}" if audit.repo else "all repos"
    if audit.since:
        scope += f", from {audit.since.date().isoformat()}"
    if audit.until:
        scope += f", before {audit.until.date().isoformat()}"
    return f"tierbot audit — {scope}"


def _subtasks(audit: Audit) -> str:
    if not audit.subtask_spend:
        return ""
    return "<h2>Subtasks alone: spend by type × tier × outcome</h2>" + subtask_spend_table(
        audit.subtask_spend
    )


def _money(cost: Any) -> str:
    return html.escape(str(cost))


def _summary(audit: Audit) -> str:
    t = audit.totals
    saving = "unknown" if t.saving_usd is None else f"${t.saving_usd:.4f}"
    cells = [
        ("tasks", str(t.tasks)),
        ("calls that reached a model server", str(t.calls)),
        ("refused by the budget (not made)", str(t.refused)),
        ("spend, all tasks", _money(t.spend)),
        (f"spend, {t.done_tasks} done tasks", _money(t.done_spend)),
        ("done tasks all on senior", _money(t.senior_done)),
        ("saving on done tasks", html.escape(saving)),
    ]
    items = "".join(
        f'<div class="kpi"><span class="v" data-key="{html.escape(k)}">{v}</span>'
        f'<span class="k">{html.escape(k)}</span></div>'
        for k, v in cells
    )
    return f'<div id="summary">{items}</div>'


_LAYOUT = {"margin": {"t": 50, "l": 60, "r": 20, "b": 60}, "height": 380}


def _figures(go: Any, audit: Audit) -> list[Any]:
    """The charts, in the order of ``CHARTS``."""
    return [
        _spend_chart(go, audit),
        _green_chart(go, audit),
        _funnel_chart(go, audit),
        _over_time_chart(go, audit),
        _top_chart(go, audit),
    ]


def _spend_chart(go: Any, audit: Audit) -> Any:
    # One bar per (type, outcome), stacked by tier; unknown parts named in the hover.
    spend = go.Figure()
    by_tier: dict[str, list[Any]] = defaultdict(list)
    for s in audit.spend:
        by_tier[s.tier].append(s)
    for tier in sorted(by_tier, key=lambda t: audit.ladder.index(t) if t in audit.ladder else 99):
        cells = by_tier[tier]
        spend.add_bar(
            name=tier,
            x=[f"{html.escape(s.task_type)} · {s.outcome}" for s in cells],
            y=[s.cost.known_usd for s in cells],
            customdata=[[str(s.cost), s.calls, s.tasks] for s in cells],
            hovertemplate="%{x}<br>"
            + html.escape(tier)
            + ": %{customdata[0]}<br>%{customdata[1]} calls, %{customdata[2]} tasks<extra></extra>",
        )
    spend.update_layout(
        title="Spend by task type × tier × outcome (known USD)",
        barmode="stack",
        yaxis_title="USD",
        **_LAYOUT,
    )
    return spend


def _green_chart(go: Any, audit: Audit) -> Any:
    # A heatmap with green/attempts in each cell.
    types = sorted({g.task_type for g in audit.green})
    tiers = [t for t in audit.ladder if any(g.tier == t for g in audit.green)]
    tiers += sorted({g.tier for g in audit.green} - set(tiers))
    cell = {(g.task_type, g.tier): g for g in audit.green}
    z = [[cell[(ty, ti)].rate if (ty, ti) in cell else None for ti in tiers] for ty in types]
    text = [
        [
            f"{cell[(ty, ti)].green}/{cell[(ty, ti)].attempts}" if (ty, ti) in cell else ""
            for ti in tiers
        ]
        for ty in types
    ]
    green = go.Figure(
        go.Heatmap(
            z=z,
            x=tiers,
            y=[html.escape(t) for t in types],
            text=text,
            texttemplate="%{text}",
            zmin=0,
            zmax=1,
            colorscale="RdYlGn",
            hovertemplate="%{y} at %{x}: %{text} green<extra></extra>",
        )
    )
    green.update_layout(title="Green rate per tier per task type", **_LAYOUT)
    return green


def _funnel_chart(go: Any, audit: Audit) -> Any:
    funnel = go.Figure(
        go.Funnel(
            y=[f.tier for f in audit.funnel],
            x=[f.reached for f in audit.funnel],
            customdata=[[f.done, f.climbed, f.stopped] for f in audit.funnel],
            hovertemplate="%{y}: %{x} tasks reached<br>%{customdata[0]} done here, "
            "%{customdata[1]} climbed, %{customdata[2]} stopped<extra></extra>",
        )
    )
    funnel.update_layout(title="Escalation funnel: tasks that reached each tier", **_LAYOUT)
    return funnel


def _over_time_chart(go: Any, audit: Audit) -> Any:
    over = go.Figure()
    days = [d.day.isoformat() for d in audit.days]
    for name, series in (
        ("actual, all tasks", [d.spend for d in audit.days]),
        ("actual, done tasks", [d.done_spend for d in audit.days]),
        ("done tasks all on senior", [d.senior_done for d in audit.days]),
    ):
        running, ys = 0.0, []
        for cost in series:
            running += cost.known_usd
            ys.append(running)
        over.add_scatter(x=days, y=ys, mode="lines+markers", name=name)
    over.update_layout(
        title="Cumulative spend against the all-senior counterfactual (known USD)",
        yaxis_title="USD",
        **_LAYOUT,
    )
    return over


def _top_chart(go: Any, audit: Audit) -> Any:
    top = go.Figure(
        go.Bar(
            orientation="h",
            y=[f"#{c.task_id} {html.escape(c.title[:40])}" for c in audit.top_tasks][::-1],
            x=[c.cost.known_usd for c in audit.top_tasks][::-1],
            customdata=[[str(c.cost), c.status] for c in audit.top_tasks][::-1],
            hovertemplate="%{y}<br>%{customdata[0]}, %{customdata[1]}<extra></extra>",
        )
    )
    top.update_layout(title="Most expensive tasks (known USD)", **_LAYOUT)
    return top


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }}
#summary {{ display: flex; flex-wrap: wrap; gap: 1em; margin: 1em 0; }}
.kpi {{ border: 1px solid #ddd; border-radius: 6px; padding: .6em 1em; min-width: 10em; }}
.kpi .v {{ display: block; font-size: 1.4em; font-weight: 600; }}
.kpi .k {{ color: #666; font-size: .85em; }}
table {{ border-collapse: collapse; width: 100%; }}
td, th {{ border-bottom: 1px solid #eee; padding: .3em .5em; text-align: left; }}
</style>
<script>{plotly}</script>
</head><body>
<h1>{title}</h1>
{summary}
<h2>Feature issues: planning against doing</h2>
{features}
{charts}
{subtasks}
<h2>Most expensive tasks</h2>
{top}
<p><small>Counterfactual assumption: {assumption}. Unknown costs are shown as unknown; charts
plot the known part.</small></p>
<script type="application/json" id="tierbot-audit">{data}</script>
</body></html>
"""
