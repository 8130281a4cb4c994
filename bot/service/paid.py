"""Model calls of comment tasks (review, diagnosis): admitted by the budget, all in the ledger.

A review or a diagnosis is one ledger task; each tier it uses (the triage tier, then the
senior tier) is one attempt. Each call goes through the meter (``bot/metering.py``), which
reserves its worst case, records it with its tokens and cost (or as ``refused`` when a cap
would be passed) and settles the reservation. The cost line at the end of the comment is
written from the same numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType

from bot.config import RepoConfig, TierSpec
from bot.core import budget as money
from bot.core.logs import scrub
from bot.core.types import Completion, Message, Outcome, Status, Task
from bot.metering import Meter, Metered
from bot.service.context import Context


@dataclass(frozen=True)
class CallFailed:
    """No usable completion: ``kind`` is a ModelErrorKind value or "refused"."""

    kind: str
    reason: str
    metered: Metered

    @property
    def refused(self) -> bool:
        """The budget refused the call: it was never made."""
        return self.metered.refused

    @property
    def fatal(self) -> bool:
        """True when later calls of the same task should not be tried (the error table's)."""
        return self.metered.fatal

    @property
    def outcome(self) -> Outcome:
        """The outcome of the attempt this failure ends."""
        return self.metered.outcome


def no_answer(tier: TierSpec, *, refused: bool) -> tuple[str, Status]:
    """Why a comment task has no answer to post when its model calls failed, and its status."""
    if refused:
        return "the budget refused the model call", Status.BUDGET_STOP
    return f"the {tier.name} tier failed", Status.NEEDS_HUMAN


def pull_task(task_type: str, number: int, *, text: str, title: str) -> Task:
    """The ledger task of a comment task on pull request ``number``."""
    return Task(
        type=task_type,
        text=text,
        title=f"{task_type} #{number}: {title}"[:120],
        slug=f"pr-{number}-{task_type}",
    )


@dataclass
class _TierUse:
    model: str
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    unknown_usage: bool = False


@dataclass
class PaidTask:
    """One comment task in the ledger; ``call`` admits, makes and records each model call."""

    ctx: Context
    config: RepoConfig
    repo: str
    task_id: int
    meter: Meter
    scope: money.Scope
    known_cost: float = 0.0
    unknown: bool = False
    senior_cost: float | None = 0.0
    uses: dict[str, _TierUse] = field(default_factory=dict)
    attempts: int = 0
    # The counterfactual "all on senior" per attempt, as the report sums it.
    senior_by_attempt: dict[int, float | None] = field(default_factory=dict)
    finished: bool = False

    def __enter__(self) -> PaidTask:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # A crash (GitHub down, a bug) must not leave the task "running" in the ledger; the
        # worker retries the job, which starts a new task.
        if exc is not None and not self.finished:
            reason = " ".join(scrub(f"{type(exc).__name__}: {exc}").split())[:300]
            self.finish(Status.NEEDS_HUMAN, f"interrupted: {reason}")

    @classmethod
    def start(
        cls,
        ctx: Context,
        config: RepoConfig,
        repo: str,
        task: Task,
        tier: str,
    ) -> PaidTask:
        task_id = ctx.ledger.start_task(repo=repo, task=task, start_tier=tier, ceiling=tier)
        meter = Meter(models=ctx.models, budgets=ctx.ledger, recorder=ctx.ledger, prices=ctx.prices)
        scope = money.scope_for(repo, task.budget_key or f"task:{task_id}")
        return cls(ctx, config, repo, task_id, meter, scope)

    def attempt(self, tier: TierSpec) -> int:
        self.attempts += 1
        attempt_id = self.ctx.ledger.start_attempt(
            self.task_id, number=self.attempts, tier=tier.name
        )
        self.senior_by_attempt[attempt_id] = 0.0
        return attempt_id

    def call(
        self, attempt_id: int, tier: TierSpec, messages: Sequence[Message]
    ) -> Completion | CallFailed:
        metered = self.meter.call(
            tier,
            messages,
            scope=self.scope,
            budget=self.config.budget,
            task_id=self.task_id,
            attempt_id=attempt_id,
        )
        if not metered.refused:
            self._count(attempt_id, tier, metered)
        if metered.completion is None:
            return CallFailed(metered.kind, metered.message, metered)
        return metered.completion

    def _count(self, attempt_id: int, tier: TierSpec, metered: Metered) -> None:
        usage = metered.usage
        use = self.uses.setdefault(tier.name, _TierUse(tier.model or tier.name))
        use.calls += 1
        use.prompt_tokens += usage.prompt_tokens or 0
        use.completion_tokens += usage.completion_tokens or 0
        if usage.prompt_tokens is None or usage.completion_tokens is None:
            use.unknown_usage = True
        if metered.cost_usd is None:
            self.unknown = True  # unknown is never $0: the ledger counts its worst case
        else:
            self.known_cost += metered.cost_usd
        senior_tier = self.config.tier(self.config.ladder[-1])
        senior = money.cost(money.price_for(senior_tier, self.ctx.prices), usage)
        self.senior_cost = _add(self.senior_cost, senior)
        self.senior_by_attempt[attempt_id] = _add(self.senior_by_attempt.get(attempt_id), senior)

    def finish_attempt(
        self, attempt_id: int, outcome: Outcome, detail: str, *, commit_sha: str | None = None
    ) -> None:
        self.ctx.ledger.finish_attempt(
            attempt_id,
            outcome=outcome,
            detail=detail,
            commit_sha=commit_sha,
            senior_cost_usd=self.senior_by_attempt.get(attempt_id),
        )

    def finish(self, status: Status, reason: str) -> None:
        self.finished = True
        self.ctx.ledger.finish_task(
            self.task_id,
            status=status,
            reason=reason,
            branch=None,
            cost_usd=None if self.unknown else self.known_cost,
            senior_cost_usd=self.senior_cost,
        )

    def cost_line(self) -> str:
        """The last line of the comment: what this run cost, by tier."""
        total = f"${self.known_cost:.4f}" + (" + unknown" if self.unknown else "")
        if not self.uses:
            return f"_Cost: {total} (no model call was made)._"
        parts = []
        for name, use in self.uses.items():
            calls = f"{use.calls} call{'s' if use.calls != 1 else ''}"
            tokens = (
                "tokens not reported"
                if use.unknown_usage and not use.prompt_tokens
                else f"{use.prompt_tokens:,} prompt + {use.completion_tokens:,} completion tokens"
            )
            parts.append(f"{name} `{use.model}`: {calls}, {tokens}")
        return f"_Cost: {total} ({'; '.join(parts)})._"


def _add(total: float | None, value: float | None) -> float | None:
    return None if total is None or value is None else total + value
