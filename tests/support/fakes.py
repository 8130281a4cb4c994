"""Small hand-written fakes of the ports, recording what the engine asked of them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bot.config import BudgetSpec, CheckSpec, TierSpec
from bot.core.budget import Scope, Spend
from bot.core.types import (
    CheckResult,
    Completion,
    EditSet,
    Message,
    Outcome,
    Status,
    Task,
    Usage,
)
from bot.metering import MemoryBudgets
from bot.ports import Admission, CallRecord, ModelError, WorkspaceError


class FakeModels:
    def __init__(self, replies: dict[str, list[str | ModelError]]) -> None:
        self.replies = replies
        self.calls: list[tuple[str, list[Message]]] = []

    def complete(self, tier: TierSpec, messages: Sequence[Message]) -> Completion:
        self.calls.append((tier.name, list(messages)))
        script = self.replies[tier.name]
        item = script.pop(0) if len(script) > 1 else script[0]
        if isinstance(item, ModelError):
            raise item
        return Completion(item, Usage(1000, 200), 0.01, tier.model or "")


class FakeLedger:
    def __init__(self, spent_today: float = 0.0) -> None:
        self.tasks: dict[int, dict[str, object]] = {}
        self.attempts: dict[int, dict[str, object]] = {}
        self.calls: list[CallRecord] = []
        self.checks: list[tuple[int, CheckResult]] = []
        self.spent_today = spent_today  # by other tasks of the repository, earlier today
        self.budgets = MemoryBudgets()

    def start_task(self, *, repo: str, task: Task, start_tier: str, ceiling: str) -> int:
        self.tasks[len(self.tasks) + 1] = {"task": task, "status": Status.RUNNING}
        return len(self.tasks)

    def start_attempt(self, task_id: int, *, number: int, tier: str) -> int:
        self.attempts[len(self.attempts) + 1] = {"task": task_id, "tier": tier}
        return len(self.attempts)

    def record_call(self, task_id: int, attempt_id: int | None, call: CallRecord) -> None:
        self.calls.append(call)

    def record_check(self, attempt_id: int, result: CheckResult) -> None:
        self.checks.append((attempt_id, result))

    def finish_attempt(self, attempt_id: int, *, outcome: Outcome, **rest: object) -> None:
        self.attempts[attempt_id]["outcome"] = outcome

    def finish_task(self, task_id: int, *, status: Status, **rest: object) -> None:
        self.tasks[task_id]["status"] = status
        self.tasks[task_id].update(rest)

    def reserve(
        self, scope: Scope, budget: BudgetSpec, worst_usd: float, *, ttl_s: float
    ) -> Admission:
        self._earlier(scope)
        return self.budgets.reserve(scope, budget, worst_usd, ttl_s=ttl_s)

    def settle(self, hold_id: int, charged_usd: float) -> None:
        self.budgets.settle(hold_id, charged_usd)

    def spent(self, scope: Scope) -> Spend:
        self._earlier(scope)
        return self.budgets.spent(scope)

    def _earlier(self, scope: Scope) -> None:
        if self.spent_today:
            earlier = Scope(scope.repo, "earlier today", scope.account)
            unlimited = BudgetSpec(float("inf"), float("inf"))
            hold = self.budgets.reserve(earlier, unlimited, self.spent_today, ttl_s=60)
            assert hold.hold_id is not None
            self.budgets.settle(hold.hold_id, self.spent_today)
            self.spent_today = 0.0

    def interrupt_unfinished(self, **_where: object) -> int:
        return 0


class FakeWorkspace:
    """Files in a dict; commits are snapshots."""

    def __init__(self, files: dict[str, str], branch: str = "tierbot/fake") -> None:
        self.files = dict(files)
        self.commits: list[tuple[str, dict[str, str], dict[str, str]]] = []
        self._branch = branch
        self._staged: dict[str, str] | None = None

    @property
    def root(self) -> Path:
        return Path("/nonexistent")

    @property
    def branch(self) -> str:
        return self._branch

    def list_files(self) -> list[str]:
        return sorted(self.files)

    def read(self, path: str) -> str | None:
        return self.files.get(path)

    def apply(self, edits: EditSet) -> None:
        self._staged = dict(self.files)
        for edit in edits.edits:
            if edit.content is None:
                self.files.pop(edit.path, None)
            else:
                self.files[edit.path] = edit.content

    def commit(self, message: str, trailers: dict[str, str]) -> str:
        if self._staged == self.files:
            raise WorkspaceError("the edit leaves every file as it was")
        self.commits.append((message, dict(trailers), dict(self.files)))
        self._staged = None
        return f"sha{len(self.commits)}"

    def discard(self) -> None:
        if self._staged is not None:
            self.files = self._staged
            self._staged = None


class FakeForge:
    """Check results in order; ``None`` means the check runs elsewhere (remote CI)."""

    pushes = False

    def __init__(self, checks: list[CheckResult | None]) -> None:
        self.checks = checks
        self.said: list[str] = []

    def run_check(self, workspace: object, check: CheckSpec) -> CheckResult | None:
        return self.checks.pop(0)

    def say(self, text: str) -> None:
        self.said.append(text)


def passed() -> CheckResult:
    return CheckResult(True, 0, 0.1, "pytest -q", "1 passed")


def failed(excerpt: str = "E   assert 5 == 6") -> CheckResult:
    return CheckResult(False, 1, 0.1, "pytest -q", excerpt, excerpt)
