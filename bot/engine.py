"""The engine every use shares: one task climbs the tier ladder until the check decides.

Decisions come from the pure core (routing, escalation, budget, edit parsing, path policy);
this module gathers their inputs through the ports, records everything in the ledger and
hands every write to the executor.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from bot.actions import Commit, Push
from bot.config import Price, RepoConfig, TierSpec
from bot.core import budget as money
from bot.core.context import ContextTooLarge, build_context, fence, named_paths
from bot.core.edits import EditError, check_syntax, parse_edits
from bot.core.escalation import LOCAL_RETRIES, BudgetView, Ladder, StepKind, next_step
from bot.core.paths import check_paths
from bot.core.prompts import render
from bot.core.routing import route
from bot.core.templates import Declined, TemplateRequest, generate
from bot.core.types import (
    AttemptRecord,
    CheckResult,
    EditSet,
    FileEdit,
    Message,
    Outcome,
    Status,
    Task,
    Usage,
)
from bot.executor import Executor
from bot.metering import Meter
from bot.ports import (
    ATTEMPT_TRAILER,
    CallRecord,
    Forge,
    Ledger,
    Models,
    PathRefused,
    Workspace,
    WorkspaceError,
)

STATUS_FOR_STEP = {
    StepKind.DONE: Status.DONE,
    StepKind.NEEDS_HUMAN: Status.NEEDS_HUMAN,
    StepKind.BUDGET_STOP: Status.BUDGET_STOP,
}


def slugify(text: str, *, limit: int = 48) -> str:
    words = re.findall(r"[a-z0-9]+", text.lower())
    slug = "-".join(words)[:limit].strip("-")
    return slug or "task"


def make_task(text: str, task_type: str, *, title: str | None = None) -> Task:
    first = next((line.strip("# ").strip() for line in text.splitlines() if line.strip()), "")
    heading = title or first or task_type
    return Task(type=task_type, text=text, title=heading[:120], slug=slugify(heading))


@dataclass(frozen=True)
class AttemptSummary:
    number: int
    tier: str
    outcome: str
    detail: str
    cost_usd: float | None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    commit_sha: str | None = None


@dataclass(frozen=True)
class RunResult:
    status: Status
    reason: str
    task_id: int | None
    branch: str | None
    cost_usd: float
    cost_unknown: bool
    senior_cost_usd: float | None
    attempts: tuple[AttemptSummary, ...] = ()
    # The loop's state, for ``Engine.resume`` when the status is RUNNING.
    state: TaskRun | None = field(default=None, compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        data = asdict(replace(self, state=None))
        data.pop("state")
        data["status"] = str(self.status)
        return data

    def status_line(self) -> str:
        cost = f"${self.cost_usd:.4f}" + (" + unknown" if self.cost_unknown else "")
        senior = f"${self.senior_cost_usd:.4f}" if self.senior_cost_usd is not None else "unknown"
        where = f" on {self.branch}" if self.branch and self.status is Status.DONE else ""
        return (
            f"{self.status}{where}: {self.reason}; cost {cost} "
            f"(all on senior: {senior}); {len(self.attempts)} attempt(s)"
        )


@dataclass
class _Attempt:
    outcome: Outcome
    detail: str = ""
    feedback: str = ""
    edits: EditSet = field(default_factory=EditSet)
    cost_usd: float | None = 0.0
    worst_usd: float = 0.0
    senior_cost_usd: float | None = 0.0
    usage: Usage = field(default_factory=lambda: Usage(None, None))
    commit_sha: str | None = None
    awaiting_check: bool = False


@dataclass(frozen=True)
class Pending:
    """An attempt whose commit is being checked elsewhere (CI on a forge)."""

    attempt_id: int
    number: int
    tier: str
    result: _Attempt


@dataclass
class TaskRun:
    """Everything the loop knows about one task between steps."""

    task_id: int
    task: Task
    ladder: Ladder
    history: list[AttemptRecord] = field(default_factory=list)
    summaries: list[AttemptSummary] = field(default_factory=list)
    outcome: Outcome | None = None
    feedback: str = ""
    touched: list[str] = field(default_factory=list)
    unknown: bool = False
    senior_total: float | None = 0.0
    pending: Pending | None = None

    def to_json(self) -> dict[str, Any]:
        """Everything needed to resume in another process (a worker after a CI webhook)."""
        pending = None
        if self.pending is not None:
            r = self.pending.result
            pending = {
                "attempt_id": self.pending.attempt_id,
                "number": self.pending.number,
                "tier": self.pending.tier,
                "outcome": str(r.outcome),
                "detail": r.detail,
                "feedback": r.feedback,
                "paths": list(r.edits.paths),
                "cost_usd": r.cost_usd,
                "worst_usd": r.worst_usd,
                "senior_cost_usd": r.senior_cost_usd,
                "usage": [r.usage.prompt_tokens, r.usage.completion_tokens],
                "commit_sha": r.commit_sha,
            }
            if r.commit_sha is None:  # still to be committed: a resumed run commits this edit
                pending["edits"] = [[e.path, e.content] for e in r.edits.edits]
        return {
            "task_id": self.task_id,
            "task": asdict(self.task),
            "ladder": asdict(self.ladder),
            "history": [asdict(h) for h in self.history],
            "summaries": [asdict(a) for a in self.summaries],
            "outcome": str(self.outcome) if self.outcome else None,
            "feedback": self.feedback,
            "touched": self.touched,
            "unknown": self.unknown,
            "senior_total": self.senior_total,
            "pending": pending,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TaskRun:
        ladder = dict(data["ladder"])
        ladder["tiers"] = tuple(ladder["tiers"])
        pending = None
        if data.get("pending"):
            p = data["pending"]
            result = _Attempt(
                Outcome(p["outcome"]),
                detail=p["detail"],
                feedback=p["feedback"],
                # After the commit only the paths matter (they join ``touched``).
                edits=EditSet(
                    tuple(FileEdit(path, content) for path, content in p["edits"])
                    if "edits" in p
                    else tuple(FileEdit(path, "") for path in p["paths"])
                ),
                cost_usd=p["cost_usd"],
                worst_usd=p["worst_usd"],
                senior_cost_usd=p["senior_cost_usd"],
                usage=Usage(*p["usage"]),
                commit_sha=p["commit_sha"],
                awaiting_check=p["commit_sha"] is not None,
            )
            pending = Pending(p["attempt_id"], p["number"], p["tier"], result)
        return cls(
            task_id=data["task_id"],
            task=Task(**data["task"]),
            ladder=Ladder(**ladder),
            history=[
                AttemptRecord(h["tier"], Outcome(h["outcome"]), h["cost_usd"], h["detail"])
                for h in data["history"]
            ],
            summaries=[AttemptSummary(**a) for a in data["summaries"]],
            outcome=Outcome(data["outcome"]) if data["outcome"] else None,
            feedback=data["feedback"],
            touched=list(data["touched"]),
            unknown=data["unknown"],
            senior_total=data["senior_total"],
            pending=pending,
        )


def record_end(ledger: Ledger, result: RunResult) -> None:
    """Write how a task ended, and what it cost, to its ledger row."""
    assert result.task_id is not None
    ledger.finish_task(
        result.task_id,
        status=result.status,
        reason=result.reason,
        branch=result.branch,
        cost_usd=None if result.cost_unknown else result.cost_usd,
        senior_cost_usd=result.senior_cost_usd,
    )


class Engine:
    """Runs tasks for one repository. Construct once per run at the edge; no I/O here."""

    def __init__(
        self,
        *,
        config: RepoConfig,
        models: Models,
        ledger: Ledger,
        forge: Forge,
        prices: Mapping[str, Price],
        repo: str,
        progress: Callable[[str], None] = lambda _line: None,
        checkpoint: Callable[[TaskRun], None] = lambda _state: None,
    ) -> None:
        """``checkpoint`` stores the loop's state whenever a step starts or ends, so a run whose
        process dies can be resumed with ``recover``."""
        self.config = config
        self.models = models
        self.ledger = ledger
        self.forge = forge
        self.prices = prices
        self.repo = repo
        self.progress = progress
        self.meter = Meter(models=models, budgets=ledger, recorder=ledger, prices=prices)
        self.checkpoint = checkpoint

    # -- pricing -------------------------------------------------------------------------
    def price(self, tier: TierSpec) -> Price | None:
        return money.price_for(tier, self.prices)

    def senior_price(self) -> Price | None:
        return self.price(self.config.tier(self.config.ladder[-1]))

    def _senior_cost(self, usage: Usage) -> float | None:
        return money.cost(self.senior_price(), usage)

    def worst_case(self, tier: TierSpec, prompt_tokens: int) -> float | None:
        if tier.is_template:
            return 0.0
        return money.worst_case(self.price(tier), prompt_tokens, tier.max_tokens)

    # -- the loop ------------------------------------------------------------------------
    def run(self, task: Task, workspace: Workspace, executor: Executor) -> RunResult:
        """Start a task and drive it until it ends, or until its check runs elsewhere."""
        ladder = route(self.config, task.type)
        task_id = self.ledger.start_task(
            repo=self.repo, task=task, start_tier=ladder.start, ceiling=ladder.ceiling
        )
        state = TaskRun(task_id, task, ladder)
        self.checkpoint(state)
        return self._drive(state, workspace, executor)

    def resume(
        self, state: TaskRun, check: CheckResult, workspace: Workspace, executor: Executor
    ) -> RunResult:
        """Continue a task whose last commit was checked elsewhere (CI on a forge)."""
        pending = state.pending
        if pending is None:
            raise ValueError(f"task {state.task_id} is not waiting for a check")
        state.pending = None
        self.ledger.record_check(pending.attempt_id, check)
        self._conclude_check(pending.result, check)
        self._close_attempt(state, pending)
        return self._drive(state, workspace, executor)

    def recover(self, state: TaskRun, workspace: Workspace, executor: Executor) -> RunResult:
        """Continue a task whose worker stopped mid-step (killed, or its lease lost).

        An edit that was being committed is committed again; on a branch that already holds
        it (the commit carries the attempt's trailers) that finds the commit and writes
        nothing, so no model is paid twice. Otherwise the ladder goes on from the last attempt
        that ended, exactly as ``run`` would have.
        """
        pending = state.pending
        if pending is not None and pending.result.commit_sha is None:
            self._commit_and_check(state.task, pending, workspace, executor)
            if not pending.result.awaiting_check:
                state.pending = None
                self._close_attempt(state, pending)
                self.checkpoint(state)
        if state.pending is not None:
            return self._result(state, Status.RUNNING, "waiting for the check", workspace.branch)
        return self._drive(state, workspace, executor)

    def _drive(self, state: TaskRun, workspace: Workspace, executor: Executor) -> RunResult:
        while True:
            # The day's spend is read at every step, never kept: other tasks spend it too.
            spend = self.ledger.spent(self.scope(state))
            prompts = StepPrompts(
                self, state.task, workspace, state.ladder.tiers, state.feedback, state.touched
            )
            view = BudgetView(money.remaining(self.config.budget, spend), prompts)
            step = next_step(state.ladder, state.history, state.outcome, view)
            if step.kind is not StepKind.CALL:
                return self._finish(
                    state, STATUS_FOR_STEP[step.kind], step.reason, workspace.branch
                )
            assert step.tier is not None
            number = len(state.history) + 1
            self.progress(f"[{number}] {step.tier}: {step.reason}")
            attempt_id = self.ledger.start_attempt(state.task_id, number=number, tier=step.tier)
            tier = self.config.tier(step.tier)
            result = self._attempt(state, attempt_id, tier, workspace, prompts)
            pending = Pending(attempt_id, number, step.tier, result)
            if result.outcome is Outcome.GREEN:  # a valid edit: commit it, then check it
                state.pending = pending
                self.checkpoint(state)  # from here a resumed run finds this edit again
                self._commit_and_check(state.task, pending, workspace, executor)
                if result.awaiting_check:
                    self.progress(f"[{number}] {step.tier}: committed; waiting for the check")
                    return self._result(
                        state, Status.RUNNING, "waiting for the check", workspace.branch
                    )
            state.pending = None
            self._close_attempt(state, pending)
            self.checkpoint(state)

    def scope(self, state: TaskRun) -> money.Scope:
        """Whose budgets the task spends: its key (its issue's on GitHub), repo and account."""
        return money.scope_for(self.repo, state.task.budget_key or f"task:{state.task_id}")

    def _close_attempt(self, state: TaskRun, pending: Pending) -> None:
        result, tier, number = pending.result, pending.tier, pending.number
        self.ledger.finish_attempt(
            pending.attempt_id,
            outcome=result.outcome,
            detail=result.detail,
            commit_sha=result.commit_sha,
            senior_cost_usd=result.senior_cost_usd,
        )
        if result.cost_usd is None:
            state.unknown = True
        if state.senior_total is not None:
            state.senior_total = (
                None
                if result.senior_cost_usd is None
                else state.senior_total + result.senior_cost_usd
            )
        state.touched.extend(p for p in result.edits.paths if p not in state.touched)
        state.history.append(AttemptRecord(tier, result.outcome, result.cost_usd, result.detail))
        state.summaries.append(
            AttemptSummary(
                number,
                tier,
                str(result.outcome),
                result.detail,
                result.cost_usd,
                result.usage.prompt_tokens,
                result.usage.completion_tokens,
                result.commit_sha,
            )
        )
        self.progress(
            f"[{number}] {tier}: {result.outcome}"
            + (f" - {result.detail}" if result.detail else "")
        )
        state.outcome = result.outcome
        if result.feedback:
            state.feedback = result.feedback

    def stop(self, state: TaskRun, check: CheckResult, reason: str, branch: str) -> RunResult:
        """End a task whose check failed for a reason no tier can fix (e.g. the base is red)."""
        pending = state.pending
        if pending is None:
            raise ValueError(f"task {state.task_id} is not waiting for a check")
        state.pending = None
        self.ledger.record_check(pending.attempt_id, check)
        self._conclude_check(pending.result, check)
        pending.result.detail = f"{pending.result.detail}; {reason}"
        self._close_attempt(state, pending)
        return self._finish(state, Status.NEEDS_HUMAN, reason, branch)

    def _finish(self, state: TaskRun, status: Status, reason: str, branch: str) -> RunResult:
        result = self._result(state, status, reason, branch)
        record_end(self.ledger, result)
        return result

    def _result(self, state: TaskRun, status: Status, reason: str, branch: str) -> RunResult:
        committed = any(a.commit_sha for a in state.summaries) or state.pending is not None
        return RunResult(
            status=status,
            reason=reason,
            task_id=state.task_id,
            branch=branch if committed else None,
            cost_usd=sum(a.cost_usd or 0.0 for a in state.summaries),
            cost_unknown=state.unknown,
            senior_cost_usd=state.senior_total,
            attempts=tuple(state.summaries),
            state=state,
        )

    # -- one attempt ---------------------------------------------------------------------
    def _attempt(
        self,
        state: TaskRun,
        attempt_id: int,
        tier: TierSpec,
        workspace: Workspace,
        prompts: StepPrompts,
    ) -> _Attempt:
        task = state.task
        if tier.is_template:
            started = time.monotonic()
            produced = self._template(task, workspace)
            # Recorded as a free call so the report's spend table shows the template tier's work.
            self.ledger.record_call(
                state.task_id,
                attempt_id,
                CallRecord(
                    tier.name,
                    "template",
                    0,
                    0,
                    0.0,
                    time.monotonic() - started,
                    "ok" if produced.outcome is Outcome.GREEN else "declined",
                ),
            )
        else:
            produced = self._model(state, attempt_id, tier, workspace, prompts)
        if produced.outcome is not Outcome.GREEN:
            return produced
        return self._validate(produced)

    def _template(self, task: Task, workspace: Workspace) -> _Attempt:
        result = generate(
            TemplateRequest(
                task_type=task.type,
                text=task.text,
                files=workspace.list_files(),
                read=workspace.read,
            )
        )
        if isinstance(result, Declined):
            return _Attempt(Outcome.DECLINED, detail=result.reason)
        # What a model would have read and written for the same work, for the counterfactual.
        read_chars = len(task.text) + sum(
            len(workspace.read(p) or "") for p in named_paths(task.text, workspace.list_files())
        )
        wrote_chars = sum(len(e.content or "") for e in result.edits)
        usage = Usage(
            money.tokens_for_chars(read_chars, chars_per_token=money.CHARS_PER_TOKEN_TYPICAL),
            money.tokens_for_chars(wrote_chars, chars_per_token=money.CHARS_PER_TOKEN_TYPICAL),
        )
        return _Attempt(
            Outcome.GREEN,
            edits=result,
            cost_usd=0.0,
            senior_cost_usd=self._senior_cost(usage),
        )

    def _model(
        self,
        state: TaskRun,
        attempt_id: int,
        tier: TierSpec,
        workspace: Workspace,
        prompts: StepPrompts,
    ) -> _Attempt:
        messages = prompts.messages(tier)
        if isinstance(messages, ContextTooLarge):
            return _Attempt(Outcome.CONTEXT_EXCEEDED, detail=str(messages))
        metered = self.meter.call(
            tier,
            messages,
            scope=self.scope(state),
            budget=self.config.budget,
            task_id=state.task_id,
            attempt_id=attempt_id,
        )
        usage = metered.usage
        reported = usage.prompt_tokens is not None and usage.completion_tokens is not None
        if metered.completion is None:
            return _Attempt(
                metered.outcome,
                detail=metered.message if metered.refused else f"{metered.kind}: {metered.message}",
                cost_usd=metered.cost_usd,
                worst_usd=metered.worst_usd,
                senior_cost_usd=self._senior_cost(usage) if reported else 0.0,
                usage=usage,
            )
        text = metered.completion.text
        if not reported:  # the counterfactual still needs numbers: estimate both sides
            prompt = money.estimate_tokens("".join(m.content for m in messages))
            usage = Usage(prompt, money.estimate_tokens(text))
        attempt = _Attempt(
            Outcome.GREEN,
            cost_usd=metered.cost_usd,
            worst_usd=metered.worst_usd,
            usage=metered.usage,
            senior_cost_usd=self._senior_cost(usage),
        )
        try:
            attempt.edits = parse_edits(text, workspace.read)
        except EditError as exc:
            attempt.outcome = Outcome.INVALID_EDIT
            attempt.detail = f"unusable edit: {exc}"
            attempt.feedback = f"Your reply could not be applied: {exc}"
        return attempt

    def prompt(
        self,
        tier: TierSpec,
        task: Task,
        workspace: Workspace,
        *,
        feedback: str = "",
        touched: Sequence[str] = (),
    ) -> list[Message]:
        """The messages an attempt at ``tier`` sends; raises ContextTooLarge."""
        files = workspace.list_files()
        context = build_context(
            task.text,
            files,
            workspace.read,
            tier.context_tokens - tier.max_tokens,
            extra_paths=[p for p in touched if p in files],
        )
        return self._messages(task, tier, context, feedback)

    def _messages(self, task: Task, tier: TierSpec, context: Any, feedback: str) -> list[Message]:
        system = render("system.md.j2", tier=tier.name, protected=list(self.config.paths.protected))
        user = render(
            "task.md.j2",
            task_type=task.type,
            task_fenced=context.task_fenced,
            repo_map=context.repo_map,
            map_truncated=context.map_truncated,
            files=context.files,
            feedback=bool(feedback),
            feedback_intro="What went wrong (untrusted output of tools, fenced):",
            feedback_fenced=fence(feedback or "(none)", "text UNTRUSTED"),
        )
        return [Message("system", system), Message("user", user)]

    def _validate(self, produced: _Attempt) -> _Attempt:
        violations = check_paths(produced.edits, self.config.paths)
        if violations:
            text = "; ".join(v.reason for v in violations)
            produced.outcome, produced.detail = Outcome.POLICY, f"edit refused: {text}"
            produced.feedback = f"These edits are not allowed: {text}"
            return produced
        errors = check_syntax(produced.edits)
        if errors:
            text = "; ".join(errors)
            produced.outcome, produced.detail = Outcome.INVALID_EDIT, f"syntax: {text}"
            produced.feedback = "The files you wrote do not parse:\n" + "\n".join(errors)
        return produced

    def _commit_and_check(
        self, task: Task, pending: Pending, workspace: Workspace, executor: Executor
    ) -> None:
        produced, tier = pending.result, pending.tier
        try:
            applied = executor.apply(
                Commit(
                    produced.edits,
                    message=f"{task.title}\n\nWritten by the {tier} tier of tierbot.",
                    # The attempt's id lets a resumed run recognise this commit on the branch.
                    trailers={
                        "Tierbot-Tier": tier,
                        "Tierbot-Task": task.slug,
                        ATTEMPT_TRAILER: str(pending.attempt_id),
                    },
                )
            )
        except PathRefused as exc:
            produced.outcome, produced.detail = Outcome.POLICY, f"edit refused: {exc}"
            produced.feedback = f"These edits are not allowed: {exc}"
            return
        except WorkspaceError as exc:
            produced.outcome, produced.detail = Outcome.INVALID_EDIT, str(exc)
            produced.feedback = f"{exc}\n{exc.output}".strip()
            return
        produced.commit_sha = applied.commit_sha
        if self.forge.pushes:
            executor.apply(Push(workspace.branch))
        check = self.forge.run_check(workspace, self.config.check)
        if check is None:
            produced.awaiting_check = True
            return
        self.ledger.record_check(pending.attempt_id, check)
        self._conclude_check(produced, check)

    @staticmethod
    def _conclude_check(produced: _Attempt, check: CheckResult) -> None:
        produced.detail = _check_detail(check)
        if not check.passed:
            produced.outcome = Outcome.CHECK_FAILED
            produced.feedback = f"The check `{check.command}` failed:\n{check.excerpt}"


def _check_detail(check: CheckResult) -> str:
    if not check.command:
        return "no check configured"
    if check.timed_out:
        return f"`{check.command}` timed out after {check.duration_s:.0f} s"
    verdict = "passed" if check.passed else f"failed (exit {check.exit_code})"
    return f"`{check.command}` {verdict} in {check.duration_s:.1f} s"


class StepPrompts(Mapping[str, float | None]):
    """The prompts of one step, built on first use per tier, and each tier's worst case.

    Escalation reads the worst case of the tier it would call, and the attempt then sends the
    very prompt that was priced, so the step and the meter's admission agree to the token.
    A prompt that does not fit the tier costs nothing: the attempt ends before any call.
    """

    def __init__(
        self,
        engine: Engine,
        task: Task,
        workspace: Workspace,
        tiers: Sequence[str],
        feedback: str = "",
        touched: Sequence[str] = (),
    ) -> None:
        self._engine, self._task, self._workspace = engine, task, workspace
        self._tiers, self._feedback, self._touched = tuple(tiers), feedback, tuple(touched)
        self._built: dict[str, list[Message] | ContextTooLarge] = {}

    def messages(self, tier: TierSpec) -> list[Message] | ContextTooLarge:
        if tier.name not in self._built:
            try:
                self._built[tier.name] = self._engine.prompt(
                    tier,
                    self._task,
                    self._workspace,
                    feedback=self._feedback,
                    touched=self._touched,
                )
            except ContextTooLarge as exc:
                self._built[tier.name] = exc
        return self._built[tier.name]

    def prompt_tokens(self, tier: TierSpec) -> int:
        """The bound on the prompt's tokens the meter will reserve for (0: no call)."""
        if tier.is_template:
            return 0
        messages = self.messages(tier)
        return 0 if isinstance(messages, ContextTooLarge) else money.prompt_bound(messages)

    def __getitem__(self, name: str) -> float | None:
        tier = self._engine.config.tier(name)
        if tier.is_template or isinstance(self.messages(tier), ContextTooLarge):
            return 0.0
        return self._engine.worst_case(tier, self.prompt_tokens(tier))

    def __iter__(self) -> Iterator[str]:
        return iter(self._tiers)

    def __len__(self) -> int:
        return len(self._tiers)


@dataclass(frozen=True)
class PlannedTier:
    tier: str
    model: str
    price: Price | None
    prompt_tokens: int
    max_output_tokens: int
    worst_per_call_usd: float | None
    max_calls: int
    note: str = ""


@dataclass(frozen=True)
class Plan:
    task_type: str
    tiers: tuple[PlannedTier, ...]
    budget_usd: float

    @property
    def worst_total_usd(self) -> float | None:
        total = 0.0
        for t in self.tiers:
            if t.worst_per_call_usd is None:
                return None
            total += t.worst_per_call_usd * t.max_calls
        return total

    def to_json(self) -> dict[str, Any]:
        return {
            "task_type": self.task_type,
            "budget_usd": self.budget_usd,
            "worst_total_usd": self.worst_total_usd,
            "tiers": [asdict(t) for t in self.tiers],
        }


def plan(engine: Engine, task: Task, workspace: Workspace) -> Plan:
    """What ``run`` would try, with token and cost estimates; no call, no write, no ledger row."""
    ladder = route(engine.config, task.type)
    tiers = ladder.tiers[ladder.tiers.index(ladder.start) : ladder.tiers.index(ladder.ceiling) + 1]
    prompts = StepPrompts(engine, task, workspace, tiers)
    rows = []
    for name in tiers:
        tier = engine.config.tier(name)
        if tier.is_template:
            result = generate(
                TemplateRequest(task.type, task.text, workspace.list_files(), workspace.read)
            )
            note = (
                f"declines: {result.reason}"
                if isinstance(result, Declined)
                else "would write " + ", ".join(result.paths)
            )
            rows.append(PlannedTier(name, "template", Price(0, 0), 0, 0, 0.0, 1, note))
            continue
        messages = prompts.messages(tier)
        rows.append(
            PlannedTier(
                name,
                tier.model or "",
                engine.price(tier),
                prompts.prompt_tokens(tier),
                tier.max_tokens,
                prompts[name],
                ladder.attempts + LOCAL_RETRIES,
                str(messages) if isinstance(messages, ContextTooLarge) else "",
            )
        )
    return Plan(task.type, tuple(rows), engine.config.budget.per_task_usd)
