"""The audit in GitHub: each bot PR's body carries its own cost table, and with
``dashboard: true`` one issue per repository, "tierbot dashboard", is edited in place after
each task step (this month's spend by type × tier, green rates, tasks that need a human,
routing recommendations). Bodies are built here, pure; writes go through the job's executor.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.actions import EditBody, UpsertIssue
from bot.core.calibration import Recommendation
from bot.core.types import Status

if TYPE_CHECKING:
    from bot.audit.tables import Audit
    from bot.config import RepoConfig
    from bot.engine import RunResult

DASHBOARD_TITLE = "tierbot dashboard"
DASHBOARD_MARKER = "<!-- tierbot:dashboard -->"


def _usd(value: float | None) -> str:
    return "unknown" if value is None else f"${value:.4f}"


def pr_body(issue: int, result: RunResult) -> str:
    """``Closes #issue`` and the task's own cost table, attempt by attempt."""
    rows = [
        f"| {a.number} | {a.tier} | {a.outcome} | {_usd(a.cost_usd)} |" for a in result.attempts
    ]
    total = _usd(None if result.cost_unknown else result.cost_usd)
    if result.cost_unknown and result.cost_usd:
        total = f"unknown (≥ ${result.cost_usd:.4f})"
    lines = [
        f"Closes #{issue}",
        "",
        "Written by tierbot. What this pull request cost:",
        "",
        "| attempt | tier | outcome | cost |",
        "| --- | --- | --- | --- |",
        *rows,
        f"| | | **total** | **{total}** |",
        "",
        f"The same work all on the senior tier: {_usd(result.senior_cost_usd)}. "
        f"Status: {result.status}.",
    ]
    return "\n".join(lines)


def dashboard_body(
    audit: Audit, recs: Iterable[Recommendation], *, month: str, now: datetime
) -> str:
    """The dashboard issue's body for one repository and one month."""
    out = [
        DASHBOARD_MARKER,
        f"## tierbot this month ({month})",
        "",
        f"Updated {now.strftime('%Y-%m-%d %H:%M UTC')} after a task step. This issue is "
        "rewritten by tierbot; edits here are replaced and closing it reopens it.",
        "",
    ]
    t = audit.totals
    if audit.empty:
        out.append("Nothing yet: no task this month.")
    else:
        saving = t.saving_usd
        out += [
            f"**{t.tasks} tasks**, {t.calls} model calls, spend {t.spend}; "
            f"{t.done_tasks} done for {t.done_spend} "
            f"(all on senior: {t.senior_done}; saving "
            f"{'unknown' if saving is None else f'${saving:.4f}'}).",
            "",
            "### Spend by task type × tier",
            "",
            "| type | tier | outcome | tasks | calls | cost |",
            "| --- | --- | --- | --- | --- | --- |",
            *(
                f"| {s.task_type} | {s.tier} | {s.outcome} | {s.tasks} | {s.calls} | {s.cost} |"
                for s in audit.spend
            ),
            "",
            "### Green rates",
            "",
            "| type | tier | green / attempts | rate |",
            "| --- | --- | --- | --- |",
            *(
                f"| {g.task_type} | {g.tier} | {g.green}/{g.attempts} | "
                f"{'-' if g.rate is None else f'{g.rate:.0%}'} |"
                for g in audit.green
            ),
        ]
    human = [c for c in audit.top_tasks if c.status == Status.NEEDS_HUMAN.value]
    out += ["", "### Tasks that need a human", ""]
    out += [
        f"- {f'[{c.title}]({c.link})' if c.link else c.title} ({c.task_type}, "
        f"{c.start_tier} → {c.top_tier}, {c.cost})"
        for c in human
    ] or ["None."]
    out += ["", "### Routing recommendations (`tierbot calibrate`)", ""]
    for r in recs:
        if r.tier is None:
            out.append(f"- **{r.task_type}**: none yet — {r.reason}")
        elif r.changes:
            out.append(f"- **{r.task_type}**: start at {r.tier}, not {r.configured} — {r.reason}")
        else:
            out.append(f"- **{r.task_type}**: keep {r.configured} — {r.reason}")
    return "\n".join(out) + "\n"


def publish_audit(
    ctx: Any, repo: str, config: RepoConfig, issue: int, pr: int | None, result: RunResult
) -> None:
    """After a task step on GitHub: the PR's cost table, then the dashboard if enabled.

    A failure here is reported and swallowed: the task's own outcome is already stored."""
    try:
        if pr is not None:
            ctx.executor.apply(EditBody(repo, pr, pr_body(issue, result)))
        if config.dashboard:
            _publish_dashboard(ctx, repo, config)
    except Exception as exc:
        ctx.echo(f"the audit of {repo} was not published: {exc}")


def _publish_dashboard(ctx: Any, repo: str, config: RepoConfig) -> None:
    from bot.adapters.ledger_audit import LedgerReader, audit_rows, task_outcomes
    from bot.adapters.sql_time import utcnow
    from bot.audit.calibrate import calibrate
    from bot.audit.model import summarize

    if not isinstance(ctx.ledger, LedgerReader):
        return  # a ledger the audit cannot query (none in an Action run without a database)
    now = utcnow()
    month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    rows = audit_rows(ctx.ledger, repo=repo, since=month)
    audit = summarize(rows, ladder=config.ladder, repo=repo, since=month, top=500)
    recs = calibrate(config, task_outcomes(ctx.ledger, repo=repo))
    body = dashboard_body(audit, recs, month=month.strftime("%Y-%m"), now=now)
    ctx.executor.apply(UpsertIssue(repo, DASHBOARD_TITLE, DASHBOARD_MARKER, body))
