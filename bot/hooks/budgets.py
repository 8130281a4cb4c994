"""The budgets of a hook run: the ledger's holds when it can be used, and the run's own."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.core.budget import Scope, Spend
    from bot.ports import Admission
    from bot.spec import BudgetSpec


def ledger_url(env: Mapping[str, str], git_dir: Path | None) -> str | None:
    """The ledger's URL for this repository, or None when it cannot be known."""
    if git_dir is None:
        return None
    from bot.settings import Settings

    try:
        return Settings.from_env(env).ledger_url(git_dir)
    except Exception:  # a broken setting costs the ledger, not the commit
        return None


class HookBudgets:
    """The ledger's holds when it can be used, and always this run's own holds in memory.

    The ledger is advisory on the commit path: when it cannot be opened (a read-only git
    dir, a locked or unreachable database), the run goes on under its own ``hooks.budget_usd``
    and whatever the memory holds saw, instead of failing the commit.
    """

    def __init__(self, url: str | None) -> None:
        from bot.metering import MemoryBudgets

        self.memory = MemoryBudgets()
        self._url = url
        self._ledger: Any = None
        self._stored: dict[int, int] = {}  # memory hold -> ledger hold

    def reserve(
        self, scope: Scope, budget: BudgetSpec, worst_usd: float, *, ttl_s: float
    ) -> Admission:
        admission = self.memory.reserve(scope, budget, worst_usd, ttl_s=ttl_s)
        if admission.hold_id is None or self._url is None:
            return admission
        try:
            if self._ledger is None:
                from bot.adapters.ledger import SqlLedger

                self._ledger = SqlLedger(self._url)
            stored: Admission = self._ledger.reserve(scope, budget, worst_usd, ttl_s=ttl_s)
        except Exception:  # advisory: go on with the memory holds
            self._url = None
            return admission
        if stored.hold_id is None:
            self.memory.settle(admission.hold_id, 0.0)
            return stored
        self._stored[admission.hold_id] = stored.hold_id
        return admission

    def settle(self, hold_id: int, charged_usd: float) -> None:
        self.memory.settle(hold_id, charged_usd)
        if hold_id in self._stored and self._url is not None:
            try:
                self._ledger.settle(self._stored[hold_id], charged_usd)
            except Exception:  # advisory: an unsettled hold keeps counting its worst case
                self._url = None

    def spent(self, scope: Scope) -> Spend:
        return self.memory.spent(scope)

    def close(self) -> None:
        if self._ledger is not None:
            self._ledger.close()
