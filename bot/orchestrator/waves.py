"""A plan's subtasks in turn, the first model calls of each wave made at once.

A wave is every subtask that may start when the plan's walk reaches one: pending, not sent
back by a red check, and every dependency committed. When two or more of them begin with a model
call (they start on a model tier, or the template tier declines them: that free step is taken
first) and ``plan.parallel`` allows more than one call, each is started in the plan's order on
this thread (its ledger task and first attempt, its prompt built from the branch as it stands),
then their calls are made at once, at most ``plan.parallel`` in flight. Nothing is written to
the branch while they are. Each subtask then goes on from its answer when its turn comes in the
plan's order, on this thread: the edit is read and checked, committed through the executor (the
one writer), retried or escalated as ever. A wave asks at once only as many calls as the
budget covers together at their worst (the rest are asked on their turn, once the earlier
calls' real costs are known), and every call still goes through the one metered call, which
reserves its worst case against the shared budget before it is made.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from bot.config import RepoConfig
from bot.core import budget as money
from bot.core.orchestration import Schedule
from bot.core.plan_run import SubtaskState
from bot.core.planning import context_paths, subtask_task, template_request
from bot.core.templates import Declined, generate
from bot.engine import Engine, Opened, RunResult, TaskRun
from bot.executor import Executor
from bot.orchestrator.scoped import SubtaskWorkspace
from bot.orchestrator.state import FeatureRun
from bot.ports import Workspace


@dataclass
class Begun:
    """A started subtask: its engine, its view of the branch, and its first step (answered
    when its wave asked ahead) or how it ended before any step."""

    subtask_id: str
    engine: Engine
    space: SubtaskWorkspace
    started: Opened | RunResult

    def go_on(self, executor: Executor) -> RunResult:
        if isinstance(self.started, RunResult):
            return self.started
        with executor.on(self.space):
            return self.engine.drive(self.started, self.space, executor)


class Turns:
    """Whose turn it is in a plan's walk, and the subtasks of its wave started ahead."""

    def __init__(
        self,
        feature: FeatureRun,
        sched: Schedule,
        workspace: Workspace,
        *,
        config: RepoConfig,
        engine: Callable[[Callable[[TaskRun], None]], Engine],
        checkpoint: Callable[[FeatureRun], None],
        progress: Callable[[str], None],
    ) -> None:
        """``engine(keep)`` makes a subtask's engine whose checkpoint is ``keep``."""
        self.feature = feature
        self.sched = sched
        self.workspace = workspace
        self.config = config
        self._engine = engine
        self._checkpoint = checkpoint
        self._progress = progress
        self._ahead: dict[str, Begun] = {}

    def ahead(self, subtask_id: str) -> bool:
        """Whether the subtask was started with its wave and waits for its turn."""
        return subtask_id in self._ahead

    def interrupted(self, subtask_id: str) -> bool:
        """Left running by a worker that stopped (its state stored, not started here)."""
        running = self.feature.run.get(subtask_id).state is SubtaskState.RUNNING
        stored = subtask_id in self.feature.engines
        return running and stored and not self.ahead(subtask_id)

    def recover(self, subtask_id: str, executor: Executor) -> RunResult:
        """Go on where a stopped worker left the subtask."""
        engine, space = self._engine(self._keeper(subtask_id)), self._space(subtask_id)
        with executor.on(space):
            return engine.recover(self.feature.engines[subtask_id], space, executor)

    def take(self, subtask_id: str) -> Begun:
        """The subtask's turn: started ahead with its wave, or started now with its wave."""
        held = self._ahead.pop(subtask_id, None)
        if held is not None:
            self._progress(f"subtask {subtask_id}: going on from its answer")
            return held
        wave = self._wave(subtask_id)
        begun = {s: self._begin(s, ahead=len(wave) > 1) for s in wave}
        self._ask(begun)
        first = begun.pop(subtask_id)
        self._ahead.update(begun)
        return first

    def _wave(self, subtask_id: str) -> list[str]:
        """``subtask_id`` and, when calls may run at once, every later subtask that may start
        now on a model tier; ``subtask_id`` is the walk's first not yet run."""
        if self.config.plan.parallel < 2 or not self._on_model(subtask_id):
            return [subtask_id]
        run, plan = self.feature.run, self.feature.run.plan
        done = set(run.ids_in(SubtaskState.DONE))
        later = [
            s
            for s in self.sched.order
            if s != subtask_id
            and s not in self._ahead
            and s not in self.feature.engines
            and run.get(s).state is SubtaskState.PENDING
            and set(plan.subtask(s).depends_on) <= done
            and self._on_model(s)
        ]
        return [subtask_id, *later]

    def _on_model(self, subtask_id: str) -> bool:
        """Whether its first call goes to a model: it starts on a model tier, or on the
        template tier whose generators decline it (a docs page other than an API reference)."""
        if not self.config.tier(self.sched.ladders[subtask_id].start).is_template:
            return True
        subtask = self.feature.run.plan.subtask(subtask_id)
        files = self.workspace.list_files()
        return isinstance(generate(template_request(subtask, files, self.workspace.read)), Declined)

    def _begin(self, subtask_id: str, *, ahead: bool = False) -> Begun:
        """Mark the subtask running, start its engine task and open its first step (``ahead``:
        its first model step, past template steps that decline)."""
        feature, plan = self.feature, self.feature.run.plan
        subtask = plan.subtask(subtask_id)
        feature.run = feature.run.running(subtask_id)
        self._checkpoint(feature)
        sub = subtask_task(plan, subtask, slug=feature.task.slug, parent_id=feature.task_id)
        sub = replace(sub, budget_key=feature.task.budget_key)
        self._progress(f"subtask {subtask_id} ({subtask.type}): {subtask.title}")
        engine, space = self._engine(self._keeper(subtask_id)), self._space(subtask_id)
        started = engine.start(
            sub, space, ladder=self.sched.ladders[subtask_id], context=context_paths(plan, subtask)
        )
        if ahead and isinstance(started, Opened):
            started = engine.past_declined(started, space)
        return Begun(subtask_id, engine, space, started)

    def _ask(self, begun: Mapping[str, Begun]) -> None:
        """The opened model steps' calls, at once; each answer waits for its subtask's turn."""
        opened = {
            s: b.started
            for s, b in begun.items()
            if isinstance(b.started, Opened)
            and b.started.asked is None
            and not self.config.tier(b.started.tier).is_template
        }
        steps = self._affordable(begun, opened)
        if len(steps) < 2:
            return  # one call is made on its turn, as any
        covered = "" if len(steps) == len(opened) else f" ({len(opened) - len(steps)} wait: "
        covered += "the budget covers no more at their worst)" if covered else ""
        self._progress(f"asking {len(steps)} subtasks' models at once: {', '.join(steps)}{covered}")
        workers = min(self.config.plan.parallel, len(steps))
        with ThreadPoolExecutor(workers, thread_name_prefix="tierbot-wave") as pool:
            calls = {s: pool.submit(begun[s].engine.ask, step) for s, step in steps.items()}
        # Leaving the pool waited for every call; a call that raised raises here, in plan order.
        for subtask_id, call in calls.items():
            begun[subtask_id].started = call.result()

    def _affordable(
        self, begun: Mapping[str, Begun], steps: dict[str, Opened]
    ) -> dict[str, Opened]:
        """The steps, in the plan's order, whose worst cases the budget covers all together:
        a wave never holds more at once than the same calls made one after another would, so
        asking at once never stops a plan that asking in turn would finish."""
        if not steps:
            return steps
        first = next(iter(steps))
        engine = begun[first].engine
        spent = engine.ledger.spent(engine.scope(steps[first].state))
        left = money.remaining(self.config.budget, spent)
        fit: dict[str, Opened] = {}
        for subtask_id, step in steps.items():
            tier = self.config.tier(step.tier)
            worst = engine.worst_case(tier, step.prompts.prompt_tokens(tier)) or 0.0
            if worst > left:
                break
            left -= worst
            fit[subtask_id] = step
        return fit

    def _keeper(self, subtask_id: str) -> Callable[[TaskRun], None]:
        def keep(state: TaskRun) -> None:
            self.feature.engines[subtask_id] = state
            self._checkpoint(self.feature)

        return keep

    def _space(self, subtask_id: str) -> SubtaskWorkspace:
        return SubtaskWorkspace(self.workspace, self.feature.run.plan, subtask_id)
