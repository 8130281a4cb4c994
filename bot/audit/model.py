"""The audit's numbers: spend by type × tier × outcome (of all tasks, and of subtasks alone),
green rates, the escalation funnel, spend over time against the all-senior counterfactual, the
dearest tasks, and each feature issue's planning against doing (``bot/audit/features.py``).

Pure: ``summarize`` takes the rows ``bot/adapters/ledger_audit.py: audit_rows`` read and fills
the tables of ``bot/audit/tables.py``. Rules that keep the numbers honest:

- *calls* are requests that reached a model server: a call the budget refused was never
  made, a template-tier run is no request, and a connection that failed reached no server;
  each is counted in its own column.
- Unknown money stays unknown (``Cost``): a partly unknown sum is a lower bound, never $0.
- The saving is computed over done tasks only: money spent on tasks that ended without a
  result saved nothing, and the senior tier would have had to do that work too.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING

from bot.audit.counting import (
    REFUSED,
    call_kind,
    calls_cost,
    senior_cost,
    sum_costs,
    task_link,
    tier_order,
)
from bot.audit.features import feature_rows
from bot.audit.tables import (
    Audit,
    Day,
    FunnelStage,
    GreenCell,
    SpendCell,
    TaskCost,
    Totals,
    add_cost,
    one_cost,
)
from bot.core.types import Outcome, Status
from bot.report import Cost

if TYPE_CHECKING:
    from bot.adapters.ledger import AttemptRow, StoredCall, TaskRow
    from bot.adapters.ledger_audit import AuditRows

TOP_TASKS = 10


def summarize(
    rows: AuditRows,
    *,
    ladder: Sequence[str],
    repo: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    top: int = TOP_TASKS,
) -> Audit:
    ladder = tuple(ladder)
    tasks = {t.id: t for t in rows.tasks}
    attempts_of: dict[int, list[AttemptRow]] = defaultdict(list)
    for a in rows.attempts:
        attempts_of[a.task_id].append(a)
    calls_of: dict[int, list[StoredCall]] = defaultdict(list)
    for c in rows.calls:
        calls_of[c.task_id].append(c)
    done = {t.id for t in rows.tasks if t.status == Status.DONE.value}

    task_cost = {tid: calls_cost(calls_of[tid]) for tid in tasks}
    senior = {tid: senior_cost(attempts_of[tid]) for tid in tasks}
    kinds = Counter(call_kind(c) for c in rows.calls)
    zero = Cost()
    totals = Totals(
        tasks=len(tasks),
        calls=kinds["call"],
        unreached=kinds["unreached"],
        refused=kinds["refused"],
        template_runs=kinds["template"],
        spend=sum_costs(task_cost.values()),
        done_tasks=len(done),
        done_spend=sum_costs(task_cost[t] for t in done) if done else zero,
        senior_done=sum_costs(senior[t] for t in done) if done else zero,
    )
    return Audit(
        repo=repo,
        since=since,
        until=until,
        ladder=ladder,
        totals=totals,
        statuses=tuple(
            sorted(Counter(t.status for t in rows.tasks).items(), key=lambda kv: (-kv[1], kv[0]))
        ),
        spend=_spend(rows.calls, tasks, ladder),
        green=_green(rows.attempts, ladder),
        funnel=_funnel(rows.tasks, attempts_of, ladder),
        days=_days(rows, tasks, done),
        top_tasks=_top(rows.tasks, attempts_of, task_cost, ladder, top),
        subtask_spend=_spend(
            [c for c in rows.calls if tasks[c.task_id].parent_id is not None], tasks, ladder
        ),
        features=feature_rows(rows.tasks, attempts_of, calls_of, ladder),
    )


def _spend(
    calls: Iterable[StoredCall], tasks: dict[int, TaskRow], ladder: tuple[str, ...]
) -> tuple[SpendCell, ...]:
    groups: dict[tuple[str, str, str], list[StoredCall]] = defaultdict(list)
    for c in calls:
        t = tasks[c.task_id]
        groups[(t.type, c.record.tier, t.status)].append(c)
    cells = []
    for (task_type, tier, outcome), items in groups.items():
        kinds = Counter(call_kind(c) for c in items)
        cells.append(
            SpendCell(
                task_type=task_type,
                tier=tier,
                outcome=outcome,
                tasks=len({c.task_id for c in items}),
                calls=kinds["call"],
                unreached=kinds["unreached"],
                refused=kinds["refused"],
                template_runs=kinds["template"],
                prompt_tokens=sum(
                    c.record.prompt_tokens or 0 for c in items if call_kind(c) == "call"
                ),
                completion_tokens=sum(c.record.completion_tokens or 0 for c in items),
                cost=calls_cost(items),
            )
        )
    return tuple(sorted(cells, key=lambda c: (c.task_type, tier_order(ladder, c.tier), c.outcome)))


def _green(attempts: Iterable[AttemptRow], ladder: tuple[str, ...]) -> tuple[GreenCell, ...]:
    counts: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for a in attempts:
        counts[(a.task_type, a.tier)][a.outcome or "running"] += 1
    return tuple(
        GreenCell(
            task_type=task_type,
            tier=tier,
            attempts=sum(c.values()) - c["running"],
            green=c[Outcome.GREEN.value],
            declined=c[Outcome.DECLINED.value],
            running=c["running"],
        )
        for (task_type, tier), c in sorted(
            counts.items(), key=lambda kv: (kv[0][0], tier_order(ladder, kv[0][1]))
        )
    )


def _top_tier(attempts: Sequence[AttemptRow], ladder: tuple[str, ...]) -> str | None:
    tiers = [a.tier for a in attempts]
    return max(tiers, key=lambda t: tier_order(ladder, t)) if tiers else None


def _funnel(
    tasks: Iterable[TaskRow], attempts_of: dict[int, list[AttemptRow]], ladder: tuple[str, ...]
) -> tuple[FunnelStage, ...]:
    reached: Counter[str] = Counter()
    ended: dict[str, Counter[str]] = defaultdict(Counter)
    for t in tasks:
        visited = {a.tier for a in attempts_of[t.id]}
        top = _top_tier(attempts_of[t.id], ladder)
        if top is None:
            continue
        for tier in visited:
            reached[tier] += 1
        ended[top][t.status] += 1
    stages = []
    for tier in sorted(reached, key=lambda t: tier_order(ladder, t)):
        here = ended[tier]
        done = here[Status.DONE.value]
        still = here[Status.RUNNING.value]
        stages.append(
            FunnelStage(
                tier=tier,
                reached=reached[tier],
                done=done,
                climbed=reached[tier] - sum(here.values()),
                stopped=sum(here.values()) - done - still,
                open=still,
            )
        )
    return tuple(stages)


def _days(rows: AuditRows, tasks: dict[int, TaskRow], done: set[int]) -> tuple[Day, ...]:
    spend: dict[date, Cost] = defaultdict(Cost)
    done_spend: dict[date, Cost] = defaultdict(Cost)
    senior: dict[date, Cost] = defaultdict(Cost)
    for c in rows.calls:
        if c.record.outcome == REFUSED:
            continue
        day = c.created_at.date()
        spend[day] = add_cost(spend[day], one_cost(c.record.cost_usd))
        if c.task_id in done:
            done_spend[day] = add_cost(done_spend[day], one_cost(c.record.cost_usd))
    for a in rows.attempts:
        if a.task_id in done:
            day = a.started_at.date()
            senior[day] = add_cost(senior[day], one_cost(a.senior_cost_usd))
    days = sorted(set(spend) | set(done_spend) | set(senior))
    return tuple(Day(d, spend[d], done_spend[d], senior[d]) for d in days)


def _top(
    tasks: Iterable[TaskRow],
    attempts_of: dict[int, list[AttemptRow]],
    cost: dict[int, Cost],
    ladder: tuple[str, ...],
    top: int,
) -> tuple[TaskCost, ...]:
    out = [
        TaskCost(
            task_id=t.id,
            repo=t.repo,
            task_type=t.type,
            title=t.title,
            status=t.status,
            start_tier=t.start_tier,
            top_tier=_top_tier(attempts_of[t.id], ladder) or t.start_tier,
            attempts=len(attempts_of[t.id]),
            cost=cost[t.id],
            link=task_link(t),
        )
        for t in tasks
    ]
    # Unknown costs first among equals: a task whose price is unknown may be the dearest.
    out.sort(key=lambda c: (-c.cost.known_usd, -c.cost.unknown, c.task_id))
    return tuple(c for c in out[:top] if c.cost.items)
