"""Feature issues in the audit: what planning cost against doing, per feature task.

A feature issue is a ledger task with subtasks (tasks whose ``parent_id`` is it). Its own
calls are the planner's (a rejected plan's retry included); its subtasks' calls are the
doing, the single-ladder fallback's included. The triage call that may have sent the issue
to the orchestrator is a task of its own, linked to nothing, and stays out of the split.
Pure: the rows come from ``bot/adapters/ledger_audit.py: audit_rows``.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from bot.audit.counting import call_kind, calls_cost, senior_cost, task_link, tier_order
from bot.audit.tables import FeatureRow
from bot.core.types import Outcome, Status

if TYPE_CHECKING:
    from bot.adapters.ledger import AttemptRow, StoredCall, TaskRow


def done_tier(attempts: Sequence[AttemptRow], start_tier: str) -> str:
    """The tier whose attempt ended the subtask green (the last such one)."""
    green = [a.tier for a in attempts if a.outcome == Outcome.GREEN.value]
    if green:
        return green[-1]
    return attempts[-1].tier if attempts else start_tier


def feature_ref(task: TaskRow) -> str:
    """``owner/name#N`` for a GitHub issue, else the branch, else the slug."""
    link = task_link(task)
    if link is not None:
        number = re.search(r"(\d+)$", link)
        assert number is not None
        return f"{task.repo}#{number.group(1)}"
    return task.branch or task.slug


def feature_rows(
    tasks: Sequence[TaskRow],
    attempts_of: Mapping[int, Sequence[AttemptRow]],
    calls_of: Mapping[int, Sequence[StoredCall]],
    ladder: Sequence[str],
) -> tuple[FeatureRow, ...]:
    """One row per task in scope that has subtasks in scope, oldest first."""
    by_id = {t.id: t for t in tasks}
    children: dict[int, list[TaskRow]] = defaultdict(list)
    for t in tasks:
        if t.parent_id is not None and t.parent_id in by_id:
            children[t.parent_id].append(t)
    done_at = {
        sub.id: done_tier(attempts_of.get(sub.id, ()), sub.start_tier)
        for subs in children.values()
        for sub in subs
        if sub.status == Status.DONE.value
    }
    tiers = sorted(set(ladder) | set(done_at.values()), key=lambda t: tier_order(ladder, t))
    return tuple(
        _row(by_id[pid], children[pid], attempts_of, calls_of, done_at, tiers)
        for pid in sorted(children)
    )


def _row(
    parent: TaskRow,
    subtasks: Sequence[TaskRow],
    attempts_of: Mapping[int, Sequence[AttemptRow]],
    calls_of: Mapping[int, Sequence[StoredCall]],
    done_at: Mapping[int, str],
    tiers: Sequence[str],
) -> FeatureRow:
    planning = list(calls_of.get(parent.id, ()))
    doing = [c for sub in subtasks for c in calls_of.get(sub.id, ())]
    attempts = [a for t in (parent, *subtasks) for a in attempts_of.get(t.id, ())]
    kinds = Counter(call_kind(c) for c in doing)
    done = Counter(done_at[s.id] for s in subtasks if s.id in done_at)
    return FeatureRow(
        task_id=parent.id,
        repo=parent.repo,
        ref=feature_ref(parent),
        title=parent.title,
        status=parent.status,
        link=task_link(parent),
        subtasks=len(subtasks),
        subtasks_done=sum(done.values()),
        done_at=tuple((tier, done[tier]) for tier in tiers),
        planning_calls=sum(call_kind(c) == "call" for c in planning),
        doing_calls=kinds["call"],
        template_runs=kinds["template"],
        planning=calls_cost(planning),
        doing=calls_cost(doing),
        senior=senior_cost(attempts),
    )
