"""Run a plan: dependency order, waves of concurrent calls, each subtask's ladder, its money.

Pure decisions over a validated :class:`~bot.core.plan.Plan`; the task service calls the
models, applies the edits and runs the check.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from bot.core.escalation import LOCAL_RETRIES, Ladder
from bot.core.plan import Plan
from bot.core.routing import route
from bot.spec import RepoConfig


@dataclass(frozen=True)
class Schedule:
    """How a plan runs.

    ``order`` is the dependency order, plan order among the subtasks that are ready: edits
    are applied and committed in this order. ``waves`` group the subtasks by dependency depth:
    the model calls of one wave may run at once, since none reads another's files.
    ``ladders`` hold each subtask's ladder, its start raised for the plan's hard subtasks.
    ``hardest`` is the subtask a red check is charged to when no file names a culprit.
    """

    order: tuple[str, ...]
    waves: tuple[tuple[str, ...], ...]
    ladders: Mapping[str, Ladder]
    hardest: str


def schedule(plan: Plan, config: RepoConfig) -> Schedule:
    """Order, waves and ladders of a validated (acyclic, non-empty) plan."""
    ladders = {}
    for subtask in plan.subtasks:
        ladder = route(config, subtask.type)
        ladders[subtask.id] = raise_start(ladder, config.plan.tier) if subtask.hard else ladder
    order = dependency_order(plan)
    return Schedule(order, waves(plan), ladders, hardest(plan, ladders, order))


def raise_start(ladder: Ladder, tier: str) -> Ladder:
    """Start a hard subtask at ``tier`` (the planner's), within its own ladder's bounds."""
    tiers = ladder.tiers
    if tier not in tiers:
        return ladder
    start = max(tiers.index(ladder.start), min(tiers.index(tier), tiers.index(ladder.ceiling)))
    return replace(ladder, start=tiers[start])


def dependency_order(plan: Plan) -> tuple[str, ...]:
    """Kahn's order, always taking the earliest subtask in plan order among the ready ones."""
    position = {s.id: i for i, s in enumerate(plan.subtasks)}
    waiting = {s.id: set(s.depends_on) for s in plan.subtasks}
    done: list[str] = []
    while waiting:
        ready = [i for i, deps in waiting.items() if deps <= set(done)]
        if not ready:
            raise ValueError("the plan's dependencies form a cycle; validate it first")
        chosen = min(ready, key=position.__getitem__)
        done.append(chosen)
        del waiting[chosen]
    return tuple(done)


def waves(plan: Plan) -> tuple[tuple[str, ...], ...]:
    """Subtasks by dependency depth, plan order within each depth."""
    depth: dict[str, int] = {}
    for subtask_id in dependency_order(plan):
        deps = plan.subtask(subtask_id).depends_on
        depth[subtask_id] = 1 + max((depth[d] for d in deps), default=-1)
    count = max(depth.values(), default=-1) + 1
    return tuple(tuple(s.id for s in plan.subtasks if depth[s.id] == n) for n in range(count))


def hardest(plan: Plan, ladders: Mapping[str, Ladder], order: Sequence[str]) -> str:
    """The first subtask marked hard; else the one starting highest, the later on a tie."""
    for subtask in plan.subtasks:
        if subtask.hard:
            return subtask.id
    if not order:
        raise ValueError("an empty plan has no hardest subtask")

    def rank(item: tuple[int, str]) -> tuple[int, int]:
        ladder = ladders[item[1]]
        return ladder.tiers.index(ladder.start), item[0]

    return max(enumerate(order), key=rank)[1]


def ready(plan: Plan, done: Iterable[str], started: Iterable[str]) -> tuple[str, ...]:
    """Subtasks whose dependencies are all ``done`` and that have not ``started``, plan order."""
    finished, begun = set(done), set(started)
    return tuple(
        s.id
        for s in plan.subtasks
        if s.id not in begun and s.id not in finished and set(s.depends_on) <= finished
    )


def foreign_paths(plan: Plan, subtask_id: str, paths: Iterable[str]) -> list[str]:
    """Why an edit of ``subtask_id`` may not touch ``paths``: files another subtask owns.

    Files no subtask names (a package's ``__init__.py``, say) are the subtask's to touch.
    """
    owners = plan.owners()
    return [
        f"{path} belongs to subtask {owners[path]!r}, not {subtask_id!r}"
        for path in paths
        if owners.get(path, subtask_id) != subtask_id
    ]


# -- money ---------------------------------------------------------------------------------


def calls_per_tier(ladder: Ladder) -> int:
    """Calls a subtask may make at one tier: its check attempts plus the local retries."""
    return ladder.attempts + LOCAL_RETRIES


def climb(ladder: Ladder) -> tuple[str, ...]:
    tiers = ladder.tiers
    return tiers[tiers.index(ladder.start) : tiers.index(ladder.ceiling) + 1]


def plan_worst_case(
    plan: Plan, ladders: Mapping[str, Ladder], worst_per_call: Mapping[str, float | None]
) -> float | None:
    """Every subtask climbing its whole ladder, each call at its worst; None if unbounded."""
    total = 0.0
    for subtask in plan.subtasks:
        ladder = ladders[subtask.id]
        for tier in climb(ladder):
            worst = worst_per_call.get(tier)
            if worst is None:
                return None
            total += worst * calls_per_tier(ladder)
    return total


def cheapest_path_cost(
    plan: Plan, ladders: Mapping[str, Ladder], worst_per_call: Mapping[str, float | None]
) -> float | None:
    """Every subtask done by its first call at its start tier, that call at its worst case.

    This is what admission must find room for if nothing goes wrong (a template start counts
    as free). None when a start tier's price is unknown, so no call of it can be admitted.
    """
    total = 0.0
    for subtask in plan.subtasks:
        worst = worst_per_call.get(ladders[subtask.id].start)
        if worst is None:
            return None
        total += worst
    return total


@dataclass(frozen=True)
class PlanBudget:
    fits: bool
    cheapest_usd: float | None
    worst_usd: float | None
    reason: str


def admit_plan(
    plan: Plan,
    ladders: Mapping[str, Ladder],
    worst_per_call: Mapping[str, float | None],
    remaining_usd: float,
) -> PlanBudget:
    """Refuse the plan before any subtask runs when even its cheapest path cannot fit."""
    cheapest = cheapest_path_cost(plan, ladders, worst_per_call)
    worst = plan_worst_case(plan, ladders, worst_per_call)
    left = max(remaining_usd, 0.0)
    if cheapest is None:
        starts = {ladders[s.id].start for s in plan.subtasks}
        unknown = sorted(t for t in starts if worst_per_call.get(t) is None)
        return PlanBudget(
            False,
            None,
            worst,
            f"no price is known for the {', '.join(unknown)} tier, so the plan's cost cannot "
            f"be bounded; set tiers.{unknown[0]}.price",
        )
    if cheapest > left:
        return PlanBudget(
            False,
            cheapest,
            worst,
            f"the plan needs at least ${cheapest:.4f} if every subtask succeeds at once, "
            f"more than the ${left:.4f} left",
        )
    shown = "unknown" if worst is None else f"${worst:.4f}"
    return PlanBudget(
        True, cheapest, worst, f"fits: ${cheapest:.4f} on the cheapest path, {shown} at worst"
    )
