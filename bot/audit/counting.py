"""The audit's counting rules: what a recorded call was, how money sums (unknown stays
unknown), the order of tiers, and the GitHub issue a task came from. Pure."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from bot.audit.tables import add_cost, one_cost
from bot.report import Cost

if TYPE_CHECKING:
    from bot.adapters.ledger import AttemptRow, StoredCall, TaskRow

TEMPLATE_MODEL = "template"  # the engine records template-tier runs as free calls of this model
REFUSED = "refused"
_NO_SERVER = re.compile(r"connect|name resolution|refused|unreachable", re.IGNORECASE)
_FULL_NAME = re.compile(r"^[\w.-]+/[\w.-]+$")


def call_kind(call: StoredCall) -> str:
    """``call`` (reached a server), ``refused`` (by the budget), ``template`` (no request) or
    ``unreached`` (the connection failed before any server answered)."""
    record = call.record
    if record.outcome == REFUSED:
        return "refused"
    if record.model == TEMPLATE_MODEL and record.cost_usd == 0.0:
        return "template"
    if record.outcome == "unavailable" and _NO_SERVER.search(record.error or ""):
        return "unreached"
    return "call"


def tier_order(ladder: Sequence[str], tier: str) -> tuple[int, str]:
    """The ladder's order; tiers outside it (an old config's) after it, by name."""
    return (ladder.index(tier), "") if tier in ladder else (len(ladder), tier)


def sum_costs(costs: Iterable[Cost]) -> Cost:
    total = Cost()
    for c in costs:
        total = add_cost(total, c)
    return total


def calls_cost(calls: Iterable[StoredCall]) -> Cost:
    """What the calls cost; a refused call was never made and costs nothing."""
    return sum_costs(one_cost(c.record.cost_usd) for c in calls if c.record.outcome != REFUSED)


def senior_cost(attempts: Iterable[AttemptRow]) -> Cost:
    """The attempts' work all on senior."""
    # A running attempt has no senior price yet: that counterfactual is not complete.
    return sum_costs(one_cost(a.senior_cost_usd) for a in attempts)


def task_link(task: TaskRow) -> str | None:
    """The GitHub issue a task came from; local tasks have only their branch."""
    number = re.fullmatch(r"issue-(\d+)", task.slug)
    if _FULL_NAME.match(task.repo) and number:
        return f"https://github.com/{task.repo}/issues/{number.group(1)}"
    return None
