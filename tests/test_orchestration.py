"""Table tests for running a plan: order, waves, ladders, the hardest subtask, money."""

from __future__ import annotations

import pytest

from bot.config import load_config
from bot.core.escalation import Ladder
from bot.core.orchestration import (
    admit_plan,
    cheapest_path_cost,
    dependency_order,
    foreign_paths,
    hardest,
    plan_worst_case,
    raise_start,
    ready,
    schedule,
    waves,
)
from bot.core.plan import Plan, Subtask

CONFIG = load_config(None)
TIERS = ("template", "intern", "junior", "senior")


def plan_of(*specs: tuple[str, str, tuple[str, ...]], hard: str = "") -> Plan:
    return Plan(
        "",
        tuple(
            Subtask(sid, kind, sid, sid, (f"src/{sid}.py",), deps, hard=sid == hard)
            for sid, kind, deps in specs
        ),
    )


ORDERS = [
    (
        "independent keep plan order",
        [("a", "stub", ()), ("b", "docs", ())],
        ("a", "b"),
        [["a", "b"]],
    ),
    (
        "a dependency comes first",
        [("t", "tests", ("s",)), ("s", "stub", ())],
        ("s", "t"),
        [["s"], ["t"]],
    ),
    (
        "ready subtasks in plan order",
        [("a", "stub", ()), ("b", "feature", ("a",)), ("c", "docs", ())],
        ("a", "b", "c"),
        [["a", "c"], ["b"]],
    ),
    (
        "diamond",
        [
            ("d", "tests", ("b", "c")),
            ("c", "feature", ("a",)),
            ("b", "config", ("a",)),
            ("a", "stub", ()),
        ],
        ("a", "c", "b", "d"),
        [["a"], ["c", "b"], ["d"]],
    ),
]


@pytest.mark.parametrize(
    ("specs", "order", "groups"), [o[1:] for o in ORDERS], ids=[o[0] for o in ORDERS]
)
def test_dependency_order_and_waves(specs, order, groups):
    plan = plan_of(*specs)
    assert dependency_order(plan) == order
    assert waves(plan) == tuple(tuple(g) for g in groups)


def test_a_cycle_is_refused_rather_than_looping():
    with pytest.raises(ValueError, match="cycle"):
        dependency_order(plan_of(("a", "stub", ("b",)), ("b", "stub", ("a",))))


STARTS = [
    ("stub starts free", "stub", False, "template"),
    ("feature starts junior", "feature", False, "junior"),
    ("the hard feature starts at the planner's tier", "feature", True, "senior"),
    ("a hard grunt subtask starts at its ceiling", "tests", True, "junior"),
    ("refactor is senior anyway", "refactor", True, "senior"),
]


@pytest.mark.parametrize(
    ("kind", "hard", "start"), [s[1:] for s in STARTS], ids=[s[0] for s in STARTS]
)
def test_schedule_start_tiers(kind, hard, start):
    plan = plan_of(("x", kind, ()), hard="x" if hard else "")
    assert schedule(plan, CONFIG).ladders["x"].start == start


def test_raise_start_never_lowers_and_ignores_unknown_tiers():
    ladder = Ladder(TIERS, "junior", "senior", 2)
    assert raise_start(ladder, "intern").start == "junior"
    assert raise_start(ladder, "wizard") == ladder


HARDEST = [
    ("marked hard wins", [("a", "refactor", ()), ("b", "feature", ())], "b", "b"),
    (
        "else the highest start",
        [("a", "stub", ()), ("b", "feature", ()), ("c", "docs", ())],
        "",
        "b",
    ),
    ("a tie goes to the later", [("a", "feature", ()), ("b", "feature", ())], "", "b"),
    ("all free: the last", [("a", "stub", ()), ("b", "tests", ("a",))], "", "b"),
]


@pytest.mark.parametrize(
    ("specs", "hard", "expected"), [h[1:] for h in HARDEST], ids=[h[0] for h in HARDEST]
)
def test_hardest(specs, hard, expected):
    plan = plan_of(*specs, hard=hard)
    sched = schedule(plan, CONFIG)
    assert sched.hardest == expected
    assert hardest(plan, sched.ladders, sched.order) == expected


def test_ready_waits_for_dependencies_and_skips_started():
    plan = plan_of(("a", "stub", ()), ("b", "feature", ("a",)), ("c", "docs", ()))
    assert ready(plan, done=(), started=()) == ("a", "c")
    assert ready(plan, done=(), started=("a",)) == ("c",)
    assert ready(plan, done=("a",), started=("a", "c")) == ("b",)


def test_foreign_paths_refuses_files_another_subtask_owns():
    plan = plan_of(("a", "stub", ()), ("b", "feature", ()))
    assert foreign_paths(plan, "b", ["src/b.py", "src/__init__.py"]) == []
    assert foreign_paths(plan, "b", ["src/a.py"]) == ["src/a.py belongs to subtask 'a', not 'b'"]


WORST = {"template": 0.0, "intern": 0.0, "junior": 0.01, "senior": 0.2}
MIXED = plan_of(("s", "stub", ()), ("f", "feature", ("s",)), ("t", "tests", ("f",)), hard="f")


def test_cheapest_path_and_worst_case():
    ladders = schedule(MIXED, CONFIG).ladders
    assert cheapest_path_cost(MIXED, ladders, WORST) == pytest.approx(0.2)
    # stub and tests climb template..junior: 3 calls at junior each; the hard feature 3 at senior.
    assert plan_worst_case(MIXED, ladders, WORST) == pytest.approx(3 * 0.01 * 2 + 3 * 0.2)
    assert plan_worst_case(MIXED, ladders, {**WORST, "junior": None}) is None


ADMIT = [
    ("fits", 1.0, WORST, True, "fits: $0.2000 on the cheapest path, $0.6600 at worst"),
    (
        "cheapest path too dear",
        0.15,
        WORST,
        False,
        "the plan needs at least $0.2000 if every subtask succeeds at once, "
        "more than the $0.1500 left",
    ),
    ("nothing left", -1.0, WORST, False, "more than the $0.0000 left"),
    (
        "unknown start price",
        5.0,
        {**WORST, "senior": None},
        False,
        "no price is known for the senior tier, so the plan's cost cannot be bounded; "
        "set tiers.senior.price",
    ),
    ("unknown price above the start", 5.0, {**WORST, "junior": None}, True, "unknown at worst"),
]


@pytest.mark.parametrize(
    ("left", "worst", "fits", "reason"), [a[1:] for a in ADMIT], ids=[a[0] for a in ADMIT]
)
def test_admit_plan(left, worst, fits, reason):
    decision = admit_plan(MIXED, schedule(MIXED, CONFIG).ladders, worst, left)
    assert decision.fits is fits
    assert reason in decision.reason
