"""The spend report: where the AI budget went, how often each tier got to green, and the
"same work all on senior" counterfactual.

The report covers the tasks created at or after ``since`` (in ``repo``), with all of their
attempts and model calls, so actual spend and the counterfactual always describe the same
work. A cost that is not known is reported as unknown, never as $0: a partly unknown sum is
shown as unknown with the known part as a lower bound.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.core.types import Outcome

if TYPE_CHECKING:
    from bot.adapters.ledger import AttemptRow, ReportRows, SqlLedger, TaskRow

DEFAULT_LADDER = ("template", "intern", "junior", "senior")

ASSUMPTION = (
    "the same calls with the same token counts, priced at the senior tier's prices; "
    "template-tier work counted as the tokens a model would have read and written "
    "(4 characters per token)"
)

UNKNOWN = "unknown"


@dataclass(frozen=True)
class Cost:
    """A sum of costs of which ``unknown`` items could not be priced."""

    known_usd: float = 0.0
    items: int = 0
    unknown: int = 0

    @property
    def usd(self) -> float | None:
        """The total, or None when any part of it is unknown."""
        return None if self.unknown else self.known_usd

    def __str__(self) -> str:
        if not self.unknown:
            return f"${self.known_usd:.4f}"
        if self.unknown >= self.items:
            return UNKNOWN
        return f"{UNKNOWN} (≥ ${self.known_usd:.4f}; {self.unknown} of {self.items} unpriced)"

    def to_json(self) -> dict[str, Any]:
        return {
            "usd": UNKNOWN if self.unknown else self.known_usd,
            "known_usd": self.known_usd,
            "items": self.items,
            "unknown": self.unknown,
        }


@dataclass(frozen=True)
class SpendLine:
    """Model calls for one task type at one tier."""

    task_type: str
    tier: str
    calls: int
    refused_calls: int  # stopped by the budget before they were made; they cost nothing
    prompt_tokens: int
    completion_tokens: int
    cost: Cost


@dataclass(frozen=True)
class TierRate:
    """Finished attempts at one tier and how many ended GREEN."""

    tier: str
    attempts: int
    green: int
    declined: int  # the template tier passed the task on; counted in ``attempts``
    running: int  # not finished yet; not counted in ``attempts``

    @property
    def rate(self) -> float | None:
        return self.green / self.attempts if self.attempts else None


@dataclass(frozen=True)
class Escalation:
    """A task that climbed above its start tier."""

    task_id: int
    task_type: str
    title: str
    start_tier: str
    top_tier: str
    steps: int  # rungs of the ladder climbed
    status: str


@dataclass(frozen=True)
class Report:
    repo: str | None
    since: datetime | None
    ladder: tuple[str, ...]
    tasks: int
    spend: tuple[SpendLine, ...]
    green_rates: tuple[TierRate, ...]
    escalations: tuple[Escalation, ...]
    status_counts: tuple[tuple[str, int], ...]
    total: Cost  # every model call in scope
    counterfactual: Cost  # the same work all on the senior tier, per attempt
    assumption: str = ASSUMPTION

    @property
    def saving_usd(self) -> float | None:
        """Counterfactual minus actual, when both are fully known."""
        total, senior = self.total.usd, self.counterfactual.usd
        return None if total is None or senior is None else senior - total


def build_report(
    ledger: SqlLedger,
    *,
    repo: str | None = None,
    since: datetime | None = None,
    ladder: Sequence[str] = DEFAULT_LADDER,
) -> Report:
    """Read the ledger once and summarise it; ``ladder`` orders tiers for escalations."""
    return summarize(
        ledger.report_rows(repo=repo, since=since), repo=repo, since=since, ladder=ladder
    )


def summarize(
    rows: ReportRows,
    *,
    repo: str | None = None,
    since: datetime | None = None,
    ladder: Sequence[str] = DEFAULT_LADDER,
) -> Report:
    """The pure half of ``build_report``."""
    ladder = tuple(ladder)
    spend = tuple(
        SpendLine(
            task_type=r.task_type,
            tier=r.tier,
            calls=r.calls,
            refused_calls=r.refused_calls,
            prompt_tokens=r.prompt_tokens,
            completion_tokens=r.completion_tokens,
            cost=Cost(r.known_cost_usd, r.calls - r.refused_calls, r.unknown_cost_calls),
        )
        for r in sorted(rows.spend, key=lambda r: (r.task_type, _tier_key(ladder, r.tier)))
    )
    total = Cost(
        sum(line.cost.known_usd for line in spend),
        sum(line.cost.items for line in spend),
        sum(line.cost.unknown for line in spend),
    )
    counterfactual = Cost(
        sum(a.senior_cost_usd or 0.0 for a in rows.attempts),
        len(rows.attempts),
        # A running attempt has no senior price yet: the counterfactual is not complete.
        sum(1 for a in rows.attempts if a.senior_cost_usd is None),
    )
    statuses = Counter(t.status for t in rows.tasks)
    return Report(
        repo=repo,
        since=since,
        ladder=ladder,
        tasks=len(rows.tasks),
        spend=spend,
        green_rates=_green_rates(rows.attempts, ladder),
        escalations=_escalations(rows.tasks, rows.attempts, ladder),
        status_counts=tuple(sorted(statuses.items(), key=lambda kv: (-kv[1], kv[0]))),
        total=total,
        counterfactual=counterfactual,
    )


def _tier_key(ladder: tuple[str, ...], tier: str) -> tuple[int, str]:
    """Ladder order first; tiers no longer on the ladder after, by name."""
    return (ladder.index(tier), "") if tier in ladder else (len(ladder), tier)


def _green_rates(attempts: Iterable[AttemptRow], ladder: tuple[str, ...]) -> tuple[TierRate, ...]:
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for a in attempts:
        counts[a.tier][a.outcome or "running"] += 1
    return tuple(
        TierRate(
            tier=tier,
            attempts=sum(c.values()) - c["running"],
            green=c[Outcome.GREEN.value],
            declined=c[Outcome.DECLINED.value],
            running=c["running"],
        )
        for tier, c in sorted(counts.items(), key=lambda kv: _tier_key(ladder, kv[0]))
    )


def _escalations(
    tasks: Iterable[TaskRow], attempts: Iterable[AttemptRow], ladder: tuple[str, ...]
) -> tuple[Escalation, ...]:
    top: dict[int, int] = {}
    for a in attempts:
        if a.tier in ladder:
            top[a.task_id] = max(top.get(a.task_id, -1), ladder.index(a.tier))
    out = []
    for t in tasks:
        if t.id not in top or t.start_tier not in ladder:
            continue  # never attempted, or its start tier is no longer on the ladder
        steps = top[t.id] - ladder.index(t.start_tier)
        if steps > 0:
            out.append(
                Escalation(
                    task_id=t.id,
                    task_type=t.type,
                    title=t.title,
                    start_tier=t.start_tier,
                    top_tier=ladder[top[t.id]],
                    steps=steps,
                    status=t.status,
                )
            )
    return tuple(sorted(out, key=lambda e: (-e.steps, e.task_id)))
