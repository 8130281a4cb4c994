"""Run a feature issue as a plan: plan, route, execute each subtask on its ladder, check the whole.

Each subtask is an engine task of its own (a ledger row with the feature as its parent, its
own ladder, one commit per accepted attempt) whose check is deferred: the engine waits for it
exactly as it waits for CI on GitHub. The check then runs once on the assembled branch; a red
result is charged to the subtasks that own the failing files, and only their engine tasks are
resumed with it, so only they retry or escalate while the others keep their commits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace

from bot.config import Price, RepoConfig
from bot.core import budget as money
from bot.core.attribution import attribute_failure
from bot.core.orchestration import admit_plan, schedule
from bot.core.plan import Plan
from bot.core.plan_run import PlannerRun, PlanRun, SubtaskState
from bot.core.planning import template_text
from bot.core.types import CheckResult, Status, Task
from bot.engine import Engine, RunResult, TaskRun
from bot.executor import Executor
from bot.orchestrator.planner import Planned, make_plan, worst_per_call
from bot.orchestrator.scoped import CheckLater, SubtaskWorkspace
from bot.orchestrator.state import (
    FeatureResult,
    FeatureRun,
    mirror,
    verdict_of,
)
from bot.orchestrator.waves import Turns
from bot.ports import Checks, Ledger, Models, Workspace

# Every red round resumes at least one subtask's ladder, and ladders are finite; this bound
# only guards against a check that flips forever.
MAX_CHECK_ROUNDS = 12


class Orchestrator:
    """Runs feature issues for one repository. Construct at the edge; no I/O here."""

    def __init__(
        self,
        *,
        config: RepoConfig,
        models: Models,
        ledger: Ledger,
        forge: Checks,
        prices: Mapping[str, Price],
        repo: str,
        executor: Executor,
        progress: Callable[[str], None] = lambda _line: None,
    ) -> None:
        """``executor`` is the job's (or the CLI run's) one writer: each subtask's commits go
        through it, on that subtask's view of the branch."""
        self.config = config
        self.models = models
        self.ledger = ledger
        self.forge = forge
        self.prices = prices
        self.repo = repo
        self.executor = executor
        self.progress = progress
        # The engine a single-ladder fallback runs on: checks run as they always do.
        self.engine = Engine(
            config=config,
            models=models,
            ledger=ledger,
            forge=forge,
            prices=prices,
            repo=repo,
            progress=progress,
        )

    def worst_per_call(self, plan: Plan, workspace: Workspace) -> dict[str, float | None]:
        return worst_per_call(self.engine, self.config, plan, workspace)

    # -- the run ----------------------------------------------------------------------------
    def start(self, task: Task) -> tuple[int, money.Scope]:
        """The feature's own ledger row; its subtasks are tasks with it as their parent."""
        tier = self.config.plan.tier
        task_id = self.ledger.start_task(repo=self.repo, task=task, start_tier=tier, ceiling=tier)
        return task_id, money.scope_for(self.repo, task.budget_key or f"task:{task_id}")

    def plan(self, task: Task, workspace: Workspace, task_id: int, scope: money.Scope) -> Planned:
        return make_plan(
            config=self.config,
            meter=self.engine.attempts.meter,
            ledger=self.ledger,
            text=task.text,
            workspace=workspace,
            task_id=task_id,
            scope=scope,
            senior_cost=lambda usage: money.cost(self.engine.attempts.senior_price(), usage),
            progress=self.progress,
        )

    def run(
        self,
        task: Task,
        workspace: Workspace,
        *,
        checkpoint: Callable[[FeatureRun], None] = lambda _f: None,
    ) -> FeatureResult:
        """Plan ``task`` and carry the plan out on ``workspace``'s branch, or fall back."""
        task_id, scope = self.start(task)
        planned = self.plan(task, workspace, task_id, scope)
        if planned.plan is None:
            if planned.budget_stop:
                return self._end(
                    task_id, planned, Status.BUDGET_STOP, planned.notes[-1], workspace.branch
                )
            return self._fall_back(task, task_id, scope, planned, workspace)
        run = PlanRun.start(planned.plan, planned.planner)
        sched = schedule(planned.plan, self.config)
        left = money.remaining(self.config.budget, self.ledger.spent(scope))
        fit = admit_plan(
            planned.plan, sched.ladders, self.worst_per_call(planned.plan, workspace), left
        )
        self.progress(f"budget: {fit.reason}")
        if not fit.fits:
            reason = f"the plan cannot fit the budget: {fit.reason}"
            feature = FeatureRun(task_id, task, run, notes=planned.notes)
            return self._finish(feature, Status.BUDGET_STOP, reason, None)
        return self.execute(task, task_id, scope, run, workspace, planned.notes, checkpoint)

    def _fall_back(
        self, task: Task, task_id: int, scope: money.Scope, planned: Planned, workspace: Workspace
    ) -> FeatureResult:
        note = "no usable plan, so the issue runs on one ladder, as without a plan"
        self.progress(note)
        single = replace(task, parent_id=task_id, budget_key=scope.key)
        with self.executor.on(workspace):
            result = self.engine.run(single, workspace, self.executor)
        notes = (*planned.notes, note)
        self._record_parent(task_id, planned.planner, result.status, result.reason, result.branch)
        return FeatureResult(
            result.status, result.reason, task_id, result.branch, None, result, notes
        )

    def _subtask_engine(
        self, plan: Plan, checkpoint: Callable[[TaskRun], None] = lambda _state: None
    ) -> Engine:
        words = {s.id: template_text(s) for s in plan.subtasks}

        def own_words(task: Task) -> str:
            # A subtask's slug ends with its id; the template tier reads its own words only.
            for subtask_id, text in words.items():
                if task.slug.endswith("-" + subtask_id):
                    return text
            return task.text

        return Engine(
            config=self.config,
            models=self.models,
            ledger=self.ledger,
            forge=CheckLater(self.forge),
            prices=self.prices,
            repo=self.repo,
            progress=self.progress,
            checkpoint=checkpoint,
            template_text=own_words,
        )

    def execute(
        self,
        task: Task,
        task_id: int,
        scope: money.Scope,
        run: PlanRun,
        workspace: Workspace,
        notes: tuple[str, ...] = (),
        checkpoint: Callable[[FeatureRun], None] = lambda _f: None,
    ) -> FeatureResult:
        """Each subtask in dependency order, then the check of the whole, until it ends."""
        feature = FeatureRun(task_id, replace(task, budget_key=scope.key), run, notes=notes)
        checkpoint(feature)
        return self.resume(feature, workspace, checkpoint)

    def resume(
        self,
        feature: FeatureRun,
        workspace: Workspace,
        checkpoint: Callable[[FeatureRun], None] = lambda _f: None,
    ) -> FeatureResult:
        """Go on with a plan run from its state: the subtasks not committed yet, then the
        check of the whole, until it ends (or until the check runs elsewhere)."""
        result = self.advance(feature, workspace, checkpoint)
        while result.status is Status.RUNNING and result.feature is not None:
            check = self.forge.run_check(workspace, self.config.check)
            if check is None:
                return result  # the check runs elsewhere (CI): ``after_check`` goes on
            result = self.after_check(result.feature, check, workspace)
        return result

    def advance(
        self,
        feature: FeatureRun,
        workspace: Workspace,
        checkpoint: Callable[[FeatureRun], None] = lambda _f: None,
    ) -> FeatureResult:
        """Run every subtask not run yet (a restarted run skips the committed ones), then
        wait for the check of the whole branch. Each wave's first calls are made at once
        (``waves.py``); edits are committed in the schedule's order."""
        plan = feature.run.plan
        sched = schedule(plan, self.config)
        turns = Turns(
            feature,
            sched,
            workspace,
            config=self.config,
            engine=lambda keep: self._subtask_engine(plan, checkpoint=keep),
            checkpoint=checkpoint,
            progress=self.progress,
        )
        stopped: tuple[str, RunResult] | None = None
        for subtask_id in sched.order:
            current = feature.run.get(subtask_id)
            if current.state is not SubtaskState.PENDING and current.state is not (
                SubtaskState.RUNNING
            ):
                continue
            if current.state is SubtaskState.PENDING and subtask_id in feature.engines:
                continue  # sent back by a red check: ``after_check`` drives it
            if stopped is not None and not turns.ahead(subtask_id):
                continue  # the budget stopped the plan; only answers already paid for go on
            subtask = plan.subtask(subtask_id)
            blocked = [
                d for d in subtask.depends_on if feature.run.get(d).state is not SubtaskState.DONE
            ]
            if blocked:
                feature.run = feature.run.stopped(
                    subtask_id, SubtaskState.FAILED, f"{blocked[0]} did not finish first"
                )
                continue
            result = self._run_one(turns, subtask_id)
            feature.run = mirror(feature.run, subtask_id, result, feature.paths)
            if result.state is not None and result.state.pending is not None:
                feature.engines[subtask_id] = result.state
            else:
                feature.engines.pop(subtask_id, None)
            checkpoint(feature)
            if result.status is Status.BUDGET_STOP and stopped is None:
                stopped = (subtask_id, result)
        if stopped is not None:
            feature.run = feature.run.cancel(f"the budget stopped subtask {stopped[0]}")
            return self._stop_all(
                feature, None, stopped[1].reason, workspace.branch, "", Status.BUDGET_STOP
            )
        return self._waiting_or_end(feature, workspace.branch, "")

    def _run_one(self, turns: Turns, subtask_id: str) -> RunResult:
        """Run one subtask on its ladder, or go on where a stopped worker left it."""
        if turns.interrupted(subtask_id):
            self.progress(f"subtask {subtask_id}: resuming where its worker stopped")
            return turns.recover(subtask_id, self.executor)
        return turns.take(subtask_id).go_on(self.executor)

    def _waiting_or_end(self, feature: FeatureRun, branch: str, verdict: str) -> FeatureResult:
        run = feature.run
        if feature.engines:
            return FeatureResult(
                Status.RUNNING,
                "waiting for the check of the whole branch",
                feature.task_id,
                branch,
                run,
                None,
                feature.notes,
                verdict,
                feature,
            )
        stuck = run.ids_in(SubtaskState.FAILED, SubtaskState.NEEDS_HUMAN)
        if stuck:
            reason = f"subtask {stuck[0]} stopped: {run.get(stuck[0]).note}"
            return self._finish(feature, Status.NEEDS_HUMAN, reason, branch, verdict)
        return self._finish(
            feature, Status.DONE, "every subtask committed; check passed", branch, verdict
        )

    def after_check(
        self, feature: FeatureRun, check: CheckResult, workspace: Workspace
    ) -> FeatureResult:
        """One check of the whole branch: green ends the plan; red sends the subtasks that own
        the failing files back up their own ladders, and the plan waits for the next check."""
        branch = workspace.branch
        verdict = verdict_of(check)
        self.progress(f"check of the whole branch: {verdict}")
        engine = self._subtask_engine(feature.run.plan)
        if feature.run.check_rounds >= MAX_CHECK_ROUNDS:
            return self._stop_all(feature, check, "the check kept failing", branch, verdict)
        if check.passed:
            feature.run = feature.run.checked(True)
            for subtask_id, state in list(feature.engines.items()):
                space = SubtaskWorkspace(workspace, feature.run.plan, subtask_id)
                with self.executor.on(space):
                    result = engine.resume(state, check, space, self.executor)
                feature.run = mirror(feature.run, subtask_id, result, feature.paths)
                del feature.engines[subtask_id]
            return self._waiting_or_end(feature, branch, verdict)
        sched = schedule(feature.run.plan, self.config)
        blame = attribute_failure(
            feature.run.plan, check.output, hardest=sched.hardest, touched=feature.paths
        )
        for line in blame.evidence:
            self.progress(f"red check: {line}")
        charged = [s for s in blame.subtasks if s in feature.engines]
        feature.run = feature.run.checked(False, charged, check.excerpt)
        if not charged:
            reason = "the check failed in files no subtask still waiting can change"
            return self._stop_all(feature, check, reason, branch, verdict)
        evidence = "\n".join(blame.evidence)
        told = replace(
            check, excerpt=f"The failure was charged to you:\n{evidence}\n\n{check.excerpt}"
        )
        for subtask_id in charged:
            space = SubtaskWorkspace(workspace, feature.run.plan, subtask_id)
            state = feature.engines.pop(subtask_id)
            with self.executor.on(space):
                result = engine.resume(state, told, space, self.executor)
            feature.run = mirror(feature.run, subtask_id, result, feature.paths)
            if result.state is not None and result.state.pending is not None:
                feature.engines[subtask_id] = result.state
            elif result.status is Status.BUDGET_STOP:
                feature.run = feature.run.cancel(f"the budget stopped subtask {subtask_id}")
                return self._stop_all(
                    feature, check, result.reason, branch, verdict, Status.BUDGET_STOP
                )
            elif result.status is not Status.DONE:
                reason = f"subtask {subtask_id} reached its ceiling: {result.reason}"
                stopped = self._stop_all(feature, check, reason, branch, verdict)
                red = result.stopped_on_red_check
                return replace(stopped, ceiling=subtask_id if red else None)
        return self._waiting_or_end(feature, branch, verdict)

    def _stop_all(
        self,
        feature: FeatureRun,
        check: CheckResult | None,
        reason: str,
        branch: str,
        verdict: str,
        status: Status = Status.NEEDS_HUMAN,
    ) -> FeatureResult:
        """The plan stops: the waiting subtasks' rows end too; their commits stay."""
        engine = self._subtask_engine(feature.run.plan)
        stopped = check or CheckResult(False, None, 0.0, "", "not checked: " + reason)
        for state in feature.engines.values():
            engine.stop(state, stopped, "the plan stopped: " + reason, branch)
        feature.engines.clear()
        return self._finish(feature, status, reason, branch, verdict)

    def _finish(
        self,
        feature: FeatureRun,
        status: Status,
        reason: str,
        branch: str | None,
        verdict: str = "",
    ) -> FeatureResult:
        run = feature.run
        committed = any(r.commit for r in run.subtasks)
        branch = branch if committed else None
        self._record_parent(feature.task_id, run.planner, status, reason, branch)
        return FeatureResult(
            status, reason, feature.task_id, branch, run, None, feature.notes, verdict
        )

    def _end(
        self, task_id: int, planned: Planned, status: Status, reason: str, branch: str
    ) -> FeatureResult:
        self._record_parent(task_id, planned.planner, status, reason, None)
        return FeatureResult(status, reason, task_id, None, None, None, planned.notes)

    def _record_parent(
        self, task_id: int, planner: PlannerRun, status: Status, reason: str, branch: str | None
    ) -> None:
        """The feature's own ledger task: what planning cost (each subtask records its own)."""
        cost, senior = planner.cost_usd, planner.senior_cost_usd
        self.ledger.finish_task(
            task_id,
            status=status,
            reason=reason,
            branch=branch,
            cost_usd=cost,
            senior_cost_usd=senior,
        )
