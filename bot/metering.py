"""The one metered model call: budget admission, the call, the error table and the record.

Every model call of tierbot goes through ``Meter.call``: the engine's attempts, reviews,
diagnoses and the stub hook. Before the call its worst case (a bound on the prompt's tokens
that holds for any text, plus the tier's ``max_tokens`` of output, at the tier's price) is
reserved in the ledger, which refuses it when a cap would be passed; after the call the
reservation is settled to what the call is counted at: its cost from the usage the answer or
the error carries, or its worst case when that cost is unknown. The ledger row is written
before the settlement, so a crash between the two leaves the worst case counted, never less.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.core import budget as money
from bot.core.budget import Scope, Spend
from bot.core.types import Completion, Message, Outcome, Usage
from bot.ports import (
    Admission,
    Budgets,
    CallRecord,
    ModelError,
    ModelErrorKind,
    Models,
    Recorder,
)
from bot.spec import BudgetSpec, Price, TierSpec

OK = "ok"
REFUSED = "refused"
# A hold outlives the slowest call the adapter can make (a timeout, its retry, rate-limit
# waits); past it, an unsettled hold is marked expired and still counts its worst case.
HOLD_TTL_S = 3600.0


@dataclass(frozen=True)
class ErrorRule:
    """What a failed call means for its attempt, its task and the money."""

    outcome: Outcome  # the attempt's outcome
    fatal: bool  # the task's later calls would fail the same way (or cost another timeout)
    billed: bool  # without reported usage the provider may still have billed it


# The error table: the one place that says what each ModelErrorKind does.
ERRORS: Mapping[ModelErrorKind, ErrorRule] = {
    ModelErrorKind.AUTH: ErrorRule(Outcome.AUTH_ERROR, fatal=True, billed=False),
    ModelErrorKind.TIMEOUT: ErrorRule(Outcome.MODEL_ERROR, fatal=True, billed=True),
    ModelErrorKind.UNAVAILABLE: ErrorRule(Outcome.MODEL_ERROR, fatal=True, billed=False),
    ModelErrorKind.RATE_LIMITED: ErrorRule(Outcome.MODEL_ERROR, fatal=True, billed=False),
    ModelErrorKind.CONTEXT_WINDOW: ErrorRule(Outcome.CONTEXT_EXCEEDED, fatal=False, billed=False),
    # A 2xx that is not a usable completion was answered, and may have been billed.
    ModelErrorKind.BAD_RESPONSE: ErrorRule(Outcome.MODEL_ERROR, fatal=False, billed=True),
}


@dataclass(frozen=True)
class Metered:
    """One metered call: the completion or why there is none, and what it is counted at."""

    kind: str  # "ok", a ModelErrorKind value, or "refused"
    message: str  # why the call failed or was refused; "" when ok
    record: CallRecord  # the ledger row
    usage: Usage  # as reported by the answer or the error
    worst_usd: float  # the call's worst case (0.0 when no price is known)
    completion: Completion | None = None
    left_usd: float = 0.0  # refused by a cap: what that cap had left

    @property
    def ok(self) -> bool:
        return self.completion is not None

    @property
    def refused(self) -> bool:
        """The budget refused the call: it was never made."""
        return self.kind == REFUSED

    @property
    def cost_usd(self) -> float | None:
        """USD; None when unknown (no usage or no price)."""
        return self.record.cost_usd

    @property
    def charged_usd(self) -> float:
        """What the call counts against every cap: its cost, else its worst case."""
        return 0.0 if self.refused else money.charge(self.cost_usd, self.worst_usd)

    @property
    def fatal(self) -> bool:
        """True when the task's later calls should not be tried."""
        return self.refused or (not self.ok and ERRORS[ModelErrorKind(self.kind)].fatal)

    @property
    def outcome(self) -> Outcome:
        """The outcome of the attempt this call ends, when it is not a usable answer."""
        if self.ok:
            return Outcome.GREEN
        if self.refused:
            return Outcome.BUDGET
        return ERRORS[ModelErrorKind(self.kind)].outcome


class Meter:
    """Admits, makes, records and settles model calls. No I/O until ``call``."""

    def __init__(
        self,
        *,
        models: Models,
        budgets: Budgets,
        prices: Mapping[str, Price],
        recorder: Recorder | None = None,
    ) -> None:
        self.models = models
        self.budgets = budgets
        self.prices = prices
        self.recorder = recorder

    def call(
        self,
        tier: TierSpec,
        messages: Sequence[Message],
        *,
        scope: Scope,
        budget: BudgetSpec,
        task_id: int | None = None,
        attempt_id: int | None = None,
    ) -> Metered:
        """One call of ``tier``; recorded under ``task_id`` when given (a hook records its
        items itself, after the run, from ``Metered.record``)."""
        price = money.price_for(tier, self.prices)
        prompt = money.prompt_bound(messages)
        worst = money.worst_case(price, prompt, tier.max_tokens)
        if worst is None:
            reason = f"no price is known for {tier.model or tier.name}; set tiers.{tier.name}.price"
            return self._refuse(tier, prompt, reason, 0.0, 0.0, task_id, attempt_id)
        admission = self.budgets.reserve(
            scope, budget, worst, ttl_s=max(HOLD_TTL_S, 4 * tier.timeout)
        )
        if admission.hold_id is None:
            left = max(money.remaining(budget, admission.spend), 0.0)
            reason = (
                f"this {tier.name} call could cost up to ${worst:.4f}, "
                f"more than the ${left:.4f} left under budget.{admission.cap}"
            )
            return self._refuse(tier, prompt, reason, worst, left, task_id, attempt_id)
        started = time.monotonic()
        try:
            completion = self.models.complete(tier, messages)
        except ModelError as exc:
            metered = _failed(tier, exc, price, worst, time.monotonic() - started)
        else:
            metered = _answered(tier, completion, price, worst)
        self._record(task_id, attempt_id, metered.record)
        self.budgets.settle(admission.hold_id, metered.charged_usd)
        return metered

    def _refuse(
        self,
        tier: TierSpec,
        prompt: int,
        reason: str,
        worst: float,
        left: float,
        task_id: int | None,
        attempt_id: int | None,
    ) -> Metered:
        model = tier.model or tier.name
        record = CallRecord(tier.name, model, prompt, None, 0.0, 0.0, REFUSED, reason)
        self._record(task_id, attempt_id, record)
        return Metered(REFUSED, reason, record, Usage(None, None), worst, left_usd=left)

    def _record(self, task_id: int | None, attempt_id: int | None, record: CallRecord) -> None:
        if self.recorder is not None and task_id is not None:
            self.recorder.record_call(task_id, attempt_id, record)


def _answered(tier: TierSpec, completion: Completion, price: Price | None, worst: float) -> Metered:
    usage = completion.usage
    record = CallRecord(
        tier.name,
        tier.model or tier.name,
        usage.prompt_tokens,
        usage.completion_tokens,
        money.cost(price, usage),
        completion.latency_s,
        OK,
    )
    return Metered(OK, "", record, usage, worst, completion)


def _failed(
    tier: TierSpec, exc: ModelError, price: Price | None, worst: float, latency_s: float
) -> Metered:
    usage = exc.usage or Usage(None, None)
    if exc.usage is not None or (ERRORS[exc.kind].billed and not _free(price)):
        cost = money.cost(price, usage)
    else:
        cost = 0.0  # refused before any work (or free): nothing was billed
    record = CallRecord(
        tier.name,
        tier.model or tier.name,
        usage.prompt_tokens,
        usage.completion_tokens,
        cost,
        latency_s,
        str(exc.kind),
        str(exc),
    )
    return Metered(str(exc.kind), str(exc), record, usage, worst)


def _free(price: Price | None) -> bool:
    return price is not None and price.input_per_mtok == 0 and price.output_per_mtok == 0


@dataclass
class _Hold:
    scope: Scope
    worst_usd: float
    charged_usd: float | None
    at: datetime


class MemoryBudgets:
    """Holds in memory: the ``Budgets`` of a run without a ledger, seeing this process only."""

    def __init__(self, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._clock = clock
        self._holds: dict[int, _Hold] = {}
        self._lock = threading.Lock()

    def reserve(
        self, scope: Scope, budget: BudgetSpec, worst_usd: float, *, ttl_s: float
    ) -> Admission:
        with self._lock:
            spend = self.spent(scope)
            cap = money.over_cap(budget, spend, worst_usd)
            if cap is not None:
                return Admission(None, spend, cap)
            hold_id = len(self._holds) + 1
            self._holds[hold_id] = _Hold(scope, worst_usd, None, self._clock())
            return Admission(hold_id, spend)

    def settle(self, hold_id: int, charged_usd: float) -> None:
        with self._lock:
            self._holds[hold_id].charged_usd = charged_usd

    def spent(self, scope: Scope) -> Spend:
        now = self._clock()
        day, month = money.day_start(now), money.month_start(now)
        task = today = this_month = 0.0
        for hold in list(self._holds.values()):
            counted = money.charge(hold.charged_usd, hold.worst_usd)
            task += counted if hold.scope.key == scope.key else 0.0
            today += counted if hold.scope.repo == scope.repo and hold.at >= day else 0.0
            same_account = hold.scope.account == scope.account
            this_month += counted if same_account and hold.at >= month else 0.0
        return Spend(task, today, this_month)
