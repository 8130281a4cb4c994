"""The loop every use shares: route, attempt, commit, check, next step, until the task ends."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from bot.actions import Commit, Push
from bot.audit.adaptive import start as adaptive_start
from bot.config import Price, RepoConfig, TierSpec
from bot.core import budget as money
from bot.core import endings
from bot.core.escalation import BudgetView, Ladder, StepKind, next_step
from bot.core.templates import Declined, generate
from bot.core.types import AttemptRecord, CheckResult, Message, Outcome, Status, Task
from bot.engine.attempts import Attempts, StepPrompts
from bot.engine.state import AttemptSummary, Pending, Produced, RunResult, TaskRun, record_end
from bot.engine.step import Opened
from bot.executor import Executor
from bot.ports import (
    ATTEMPT_TRAILER,
    Checks,
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
    StepKind.NOTHING_TO_DO: Status.NOTHING_TO_DO,
}


class Engine:
    """Runs tasks for one repository. Construct once per run at the edge; no I/O here."""

    def __init__(
        self,
        *,
        config: RepoConfig,
        models: Models,
        ledger: Ledger,
        forge: Checks,
        prices: Mapping[str, Price],
        repo: str,
        progress: Callable[[str], None] = lambda _line: None,
        checkpoint: Callable[[TaskRun], None] = lambda _state: None,
        template_text: Callable[[Task], str] = lambda task: task.text,
        baseline: Callable[[Workspace], tuple[str, CheckResult] | None] | None = None,
    ) -> None:
        """``checkpoint`` stores the loop's state whenever a step starts or ends, so a run whose
        process dies can be resumed with ``recover``. ``template_text`` is what the template
        tier's generators read of a task (a plan's subtask: its own words only)."""
        self.config = config
        self.models = models
        self.ledger = ledger
        self.forge = forge
        self.prices = prices
        self.repo = repo
        self.progress = progress
        self.attempts = Attempts(
            config=config,
            models=models,
            ledger=ledger,
            prices=prices,
            repo=repo,
            template_text=template_text,
        )
        self.checkpoint = checkpoint
        # The check on the base commit before the first tier (the local forge's twin of CI
        # attribution); None where the base is judged elsewhere (CI on a forge).
        self.baseline = baseline

    # -- what the attempts know, for the callers that plan or price ------------------------
    def price(self, tier: TierSpec) -> Price | None:
        return self.attempts.price(tier)

    def worst_case(self, tier: TierSpec, prompt_tokens: int) -> float | None:
        return self.attempts.worst_case(tier, prompt_tokens)

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
        return self.attempts.prompt(tier, task, workspace, feedback=feedback, touched=touched)

    def scope(self, state: TaskRun) -> money.Scope:
        return self.attempts.scope(state)

    # -- the loop ------------------------------------------------------------------------
    def run(
        self,
        task: Task,
        workspace: Workspace,
        executor: Executor,
        *,
        ladder: Ladder | None = None,
        context: Sequence[str] = (),
    ) -> RunResult:
        """Start a task and drive it until it ends, or until its check runs elsewhere.

        ``ladder`` replaces the task type's own (a plan's hard subtask starts higher);
        ``context`` names files every model prompt shows in full once they exist."""
        started = self.start(task, workspace, ladder=ladder, context=context)
        if isinstance(started, RunResult):
            return started
        return self.drive(started, workspace, executor)

    def start(
        self,
        task: Task,
        workspace: Workspace,
        *,
        ladder: Ladder | None = None,
        context: Sequence[str] = (),
    ) -> Opened | RunResult:
        """Start a task and open its first step (its attempt's row, the prompt priced and
        built), or how it ended before any step. Writes nothing but the ledger and checkpoint."""
        why = ""
        if ladder is None:
            begin = adaptive_start(self.config, task.type, self.repo, self.ledger)
            ladder, why = begin.ladder, begin.why
            if why:
                self.progress(why)
        task_id = self.ledger.start_task(
            repo=self.repo, task=task, start_tier=ladder.start, ceiling=ladder.ceiling
        )
        state = TaskRun(task_id, task, ladder, touched=list(context), start_reason=why)
        self.checkpoint(state)
        empty = endings.empty_task(task.text)
        if empty is not None:
            return self._finish(state, Status.NOTHING_TO_DO, empty, workspace.branch)
        if self.baseline is not None:
            base = self.baseline(workspace)  # (the base commit, its check) or None
            red = None if base is None else endings.base_red(task.type, *base)
            if red is not None:
                return self._finish(state, Status.NEEDS_HUMAN, red, workspace.branch)
        return self._open(state, workspace)

    def ask(self, step: Opened) -> Opened:
        """Make an opened step's model call now, off the loop: it reads only the prompt built
        when the step opened and writes only its ledger rows, so several may run at once."""
        tier = self.config.tier(step.tier)
        if tier.is_template or step.asked is not None:
            return step
        return replace(
            step, asked=self.attempts.ask(step.state, step.attempt_id, tier, step.prompts)
        )

    def past_declined(self, step: Opened, workspace: Workspace) -> Opened | RunResult:
        """Take now the template steps whose generators decline (they write and cost nothing)
        and open the step after them, so a plan's wave can ask that model ahead; a template
        step that would write is left for its turn."""
        taken: Opened | RunResult = step
        while isinstance(taken, Opened) and self.config.tier(taken.tier).is_template:
            step = taken
            request = self.attempts.template_request(step.state.task, workspace)
            if not isinstance(generate(request), Declined):
                return step
            tier = self.config.tier(step.tier)
            result = self.attempts.attempt(
                step.state, step.attempt_id, tier, workspace, step.prompts, None
            )
            self._close_attempt(
                step.state, Pending(step.attempt_id, step.number, step.tier, result)
            )
            self.checkpoint(step.state)
            taken = self._open(step.state, workspace)
        return taken

    def drive(self, step: Opened, workspace: Workspace, executor: Executor) -> RunResult:
        """Take an opened step (with its model's answer when it was asked already), then go on
        until the task ends or waits for its check."""
        return self._drive(step.state, workspace, executor, step)

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

    def _drive(
        self, state: TaskRun, workspace: Workspace, executor: Executor, first: Opened | None = None
    ) -> RunResult:
        step: Opened | RunResult | None = first
        while True:
            step = self._open(state, workspace) if step is None else step
            if isinstance(step, RunResult):
                return step
            tier = self.config.tier(step.tier)
            result = self.attempts.attempt(
                state, step.attempt_id, tier, workspace, step.prompts, step.asked
            )
            pending = Pending(step.attempt_id, step.number, step.tier, result)
            step = None
            if result.outcome is Outcome.GREEN:  # a valid edit: commit it, then check it
                state.pending = pending
                self.checkpoint(state)  # from here a resumed run finds this edit again
                self._commit_and_check(state.task, pending, workspace, executor)
                if result.awaiting_check:
                    self.progress(
                        f"[{pending.number}] {pending.tier}: committed; waiting for the check"
                    )
                    return self._result(
                        state, Status.RUNNING, "waiting for the check", workspace.branch
                    )
            state.pending = None
            self._close_attempt(state, pending)
            self.checkpoint(state)

    def _open(self, state: TaskRun, workspace: Workspace) -> Opened | RunResult:
        """The next step: its attempt's row and its prompt, or how the task ends."""
        # The day's spend is read at every step, never kept: other tasks spend it too.
        spend = self.ledger.spent(self.scope(state))
        prompts = StepPrompts(
            self.attempts, state.task, workspace, state.ladder.tiers, state.feedback, state.touched
        )
        view = BudgetView(money.remaining(self.config.budget, spend), prompts)
        step = next_step(state.ladder, state.history, state.outcome, view)
        if step.kind is not StepKind.CALL:
            return self._finish(state, STATUS_FOR_STEP[step.kind], step.reason, workspace.branch)
        assert step.tier is not None
        number = len(state.history) + 1
        self.progress(f"[{number}] {step.tier}: {step.reason}")
        attempt_id = self.ledger.start_attempt(state.task_id, number=number, tier=step.tier)
        tier = self.config.tier(step.tier)
        if not tier.is_template:
            prompts.messages(tier)  # built now, from the branch as it stands
        return Opened(state, attempt_id, number, step.tier, prompts)

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

    def _commit_and_check(
        self, task: Task, pending: Pending, workspace: Workspace, executor: Executor
    ) -> None:
        produced, tier = pending.result, pending.tier
        try:
            applied = executor.apply(
                Commit(
                    produced.edits,
                    message=f"{task.title}\n\nWritten by the {tier} tier of tierbot."
                    + (f"\n\n{produced.note}" if produced.note else ""),
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
    def _conclude_check(produced: Produced, check: CheckResult) -> None:
        kept = produced.detail if produced.detail.startswith("suggested") else ""
        produced.detail = "; ".join(filter(None, [endings.check_detail(check), kept]))
        if not check.passed:
            produced.outcome = Outcome.CHECK_FAILED
            produced.feedback = f"The check `{check.command}` failed:\n{check.excerpt}"
