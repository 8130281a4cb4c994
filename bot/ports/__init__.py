"""The boundaries of the core: Protocols for models, the ledger, the git workspace and the checks.

Each port has a real adapter under ``bot/adapters`` and a small fake in the tests; the GitHub
port is in ``github.py``, the task store in ``tasks.py``, the scratch git commands in ``git.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol

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


class ModelErrorKind(StrEnum):
    TIMEOUT = "timeout"
    RATE_LIMITED = "rate-limited"
    AUTH = "auth"
    CONTEXT_WINDOW = "context-window"
    UNAVAILABLE = "unavailable"
    BAD_RESPONSE = "bad-response"


class ModelError(Exception):
    """A model call failed after the adapter's own retries; ``kind`` drives escalation."""

    def __init__(
        self,
        kind: ModelErrorKind,
        message: str,
        *,
        retry_after: float | None = None,
        usage: Usage | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.retry_after = retry_after
        self.usage = usage


class Models(Protocol):
    def complete(self, tier: TierSpec, messages: Sequence[Message]) -> Completion:
        """Call the tier's model; raise ModelError on failure."""
        ...


@dataclass(frozen=True)
class CallRecord:
    """One model call (or one refused call) as the ledger stores it."""

    tier: str
    model: str
    prompt_tokens: int | None
    completion_tokens: int | None
    cost_usd: float | None  # None: unknown (the provider reported no usage, or no price)
    latency_s: float
    outcome: str  # "ok", a ModelErrorKind value, or "refused"
    error: str = ""


@dataclass(frozen=True)
class Admission:
    """The answer to a reservation: a hold to settle, or the cap that refused it."""

    hold_id: int | None  # None: refused
    spend: Spend  # what was already counted, before this call
    cap: str | None = None  # the config key of the cap the call would pass


class Recorder(Protocol):
    """The append-only record of model calls."""

    def record_call(self, task_id: int, attempt_id: int | None, call: CallRecord) -> None: ...


class Budgets(Protocol):
    """Reserve-then-settle: a call's worst case is held before it is made, so concurrent
    callers (threads, workers, machines) can never together pass a cap."""

    def reserve(
        self, scope: Scope, budget: BudgetSpec, worst_usd: float, *, ttl_s: float
    ) -> Admission:
        """Atomically: read the spend of ``scope`` (open holds at their worst case) and hold
        ``worst_usd`` unless that would pass a cap of ``budget``."""
        ...

    def settle(self, hold_id: int, charged_usd: float) -> None:
        """Replace a hold's worst case by what the call is counted at."""
        ...

    def spent(self, scope: Scope) -> Spend:
        """What ``scope`` has spent, open holds included."""
        ...


class Ledger(Recorder, Budgets, Protocol):
    def start_task(self, *, repo: str, task: Task, start_tier: str, ceiling: str) -> int: ...

    def start_attempt(self, task_id: int, *, number: int, tier: str) -> int: ...

    def record_check(self, attempt_id: int, result: CheckResult) -> None: ...

    def finish_attempt(
        self,
        attempt_id: int,
        *,
        outcome: Outcome,
        detail: str,
        commit_sha: str | None,
        senior_cost_usd: float | None,
    ) -> None: ...

    def finish_task(
        self,
        task_id: int,
        *,
        status: Status,
        reason: str,
        branch: str | None,
        cost_usd: float | None,
        senior_cost_usd: float | None,
    ) -> None: ...

    def interrupt_unfinished(
        self, *, repo: str, slug: str, keep_task: int | None, keep_attempt: int | None
    ) -> int:
        """Finish the rows a stopped worker left running for ``repo``'s tasks named ``slug``:
        attempts with no outcome as interrupted (but ``keep_attempt``), tasks still running as
        interrupted (but ``keep_task``). Returns how many rows it finished."""
        ...


# The trailer naming the ledger attempt that made a commit. A workspace that pushes commits each
# value at most once per branch: committing again with a value the branch already carries
# returns that commit, which is how a resumed task finds the commit a killed worker pushed.
ATTEMPT_TRAILER = "Tierbot-Attempt"


class WorkspaceError(Exception):
    """A workspace refused a write (e.g. a commit hook failed); ``output`` is what it printed."""

    def __init__(self, message: str, output: str = "") -> None:
        super().__init__(message)
        self.output = output


class PathRefused(WorkspaceError):
    """A workspace refused an edit's path (outside the tree, into ``.git``, through a symbolic
    link): a path-policy refusal, recorded and escalated like one, not a failed write."""


class Workspace(Protocol):
    """A checkout the bot may write to: never the user's own working tree."""

    @property
    def root(self) -> Path: ...

    @property
    def branch(self) -> str: ...

    def list_files(self) -> list[str]: ...

    def read(self, path: str) -> str | None: ...

    def apply(self, edits: EditSet) -> None: ...

    def commit(self, message: str, trailers: dict[str, str]) -> str: ...

    def discard(self) -> None:
        """Drop uncommitted changes made by ``apply`` (after a refused commit)."""
        ...


class Checks(Protocol):
    """Where the check runs and where the bot talks to people: ``LocalForge`` (the check
    command, the terminal) and ``RemoteChecks`` (CI on GitHub, which answers later). Not the
    GitHub forge: that is ``bot/ports/github.py: GitHubPort``."""

    # True where a commit counts only once pushed (CI that runs after the push):
    # the engine then follows each commit with a ``Push``.
    pushes: bool

    def run_check(self, workspace: Workspace, check: CheckSpec) -> CheckResult | None:
        """Run the check now, or return None when it runs elsewhere (CI after a push)."""
        ...

    def say(self, text: str) -> None: ...
