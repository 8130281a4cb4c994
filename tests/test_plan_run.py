"""A plan's run state: transitions, the marker round trip, the table of the PR body."""

from __future__ import annotations

import json

import pytest

from bot.core.escalation import BudgetView, Ladder, StepKind, next_step
from bot.core.plan import Plan, Subtask
from bot.core.plan_run import (
    Committed,
    PlannerRun,
    PlanRun,
    PlanRunError,
    SubtaskState,
)
from bot.core.plan_table import render_plan_table
from bot.core.state import decode_marker, encode_marker
from bot.core.types import AttemptRecord, Outcome

PLAN = Plan(
    "Add CSV export.",
    (
        Subtask("models", "stub", "Row types", "Create them.", ("src/models.py",)),
        Subtask(
            "csv", "feature", "CSV | exporter", "Write it.", ("src/csv.py",), ("models",), hard=True
        ),
        Subtask("docs", "docs", "Docs", "Document it.", ("docs/csv.md",)),
    ),
)
S = SubtaskState


def progressed() -> PlanRun:
    run = PlanRun.start(PLAN, PlannerRun("senior", 1, 0.02, 0.02))
    run = run.running("models").attempted(
        "models",
        AttemptRecord("template", Outcome.GREEN, 0.0, "written"),
        senior_cost_usd=0.01,
        commit="a" * 40,
        paths=["src/models.py", "src/__init__.py"],
    )
    run = run.running("csv").attempted(
        "csv", AttemptRecord("senior", Outcome.INVALID_EDIT, 0.03, "x" * 500), senior_cost_usd=0.03
    )
    run = run.attempted(
        "csv", AttemptRecord("senior", Outcome.GREEN, 0.04), senior_cost_usd=0.04, commit="b" * 40
    )
    return run.running("docs")


def test_transitions_record_attempts_commits_and_money():
    run = progressed()
    assert run.get("models").state is S.DONE
    assert run.get("models").paths == ("src/models.py", "src/__init__.py")
    csv = run.get("csv")
    assert (csv.state, csv.tier, len(csv.attempts), csv.commit) == (S.DONE, "senior", 2, "b" * 40)
    assert len(csv.attempts[0].detail) == 160
    assert csv.cost_usd == pytest.approx(0.07)
    assert run.get("docs").state is S.RUNNING
    assert run.cost_usd == pytest.approx(0.09)
    assert run.senior_cost_usd == pytest.approx(0.10)
    assert not run.finished


def test_an_attempt_without_a_commit_waits_for_the_next_step():
    run = PlanRun.start(PLAN, PlannerRun("senior")).attempted(
        "docs", AttemptRecord("template", Outcome.DECLINED, 0.0, "no generator")
    )
    assert run.get("docs").state is S.PENDING
    assert run.get("docs").note == "no generator"


def test_one_unknown_cost_makes_the_total_unknown():
    run = PlanRun.start(PLAN, PlannerRun("senior")).attempted(
        "docs", AttemptRecord("junior", Outcome.GREEN, None), commit="c" * 40
    )
    assert run.get("docs").cost_usd is None
    assert run.cost_usd is None


def test_a_red_check_sends_back_only_the_charged_subtasks():
    run = progressed().checked(False, ["csv"], excerpt="E   AssertionError\n" * 400)
    csv, models = run.get("csv"), run.get("models")
    assert csv.state is S.PENDING and csv.commit == "b" * 40  # its commit stays on the branch
    assert csv.attempts[-1].outcome is Outcome.CHECK_FAILED
    assert models.state is S.DONE and models.attempts[-1].outcome is Outcome.GREEN
    assert run.check_rounds == 1
    assert len(run.last_check) == 3000
    # The service asks the escalation policy what the charged subtask does next.
    ladder = Ladder(("template", "intern", "junior", "senior"), "senior", "senior", 2)
    budget = BudgetView(1.0, {"senior": 0.1})
    step = next_step(ladder, csv.attempts, csv.attempts[-1].outcome, budget)
    assert (step.kind, step.tier, step.retry) == (StepKind.CALL, "senior", True)


def test_a_green_check_clears_the_last_log():
    run = progressed().checked(False, ["csv"], "log").checked(True)
    assert run.check_rounds == 2 and run.last_check == ""


def test_cancel_stops_what_has_not_finished_and_keeps_commits():
    run = progressed().cancel("relabelled tierbot:docs")
    assert [r.state for r in run.subtasks] == [S.DONE, S.DONE, S.CANCELLED]
    assert run.cancelled == "relabelled tierbot:docs"
    assert run.finished


def test_needs_human_at_the_ceiling():
    run = progressed().stopped("docs", S.NEEDS_HUMAN, "ceiling junior reached")
    assert run.get("docs").state is S.NEEDS_HUMAN
    assert run.finished


def test_round_trip_through_the_status_marker():
    run = progressed().checked(False, ["csv"], "tests/test_csv.py:3: AssertionError --> x")
    body = f"text\n\n{encode_marker({'plan_run': run.to_json()})}"
    stored = decode_marker(body)
    assert stored is not None
    assert PlanRun.from_json(stored["plan_run"]) == run


BROKEN = [
    ("not an object", [], "no known version"),
    ("other version", {"version": 99}, "no known version"),
    ("missing keys", {"version": 1, "plan": {"summary": "", "subtasks": []}}, "unreadable"),
    ("bad state", {"subtasks.0.state": "exploded"}, "unreadable"),
    ("bad outcome", {"subtasks.1.attempts.0.1": "won"}, "unreadable"),
    ("bad cost", {"planner.cost_usd": "cheap"}, "a cost must be a number or null"),
    ("states of another plan", {"subtasks.0.id": "zzz"}, "do not match the stored plan"),
    ("an invalid plan", {"plan.subtasks.0.files": "x"}, "the stored plan is invalid"),
]


def _damage(data, changes):
    if not isinstance(changes, dict) or "version" in changes:
        return changes
    data = json.loads(json.dumps(data))
    for dotted, value in changes.items():
        *path, last = dotted.split(".")
        node = data
        for key in path:
            node = node[int(key)] if isinstance(node, list) else node[key]
        node[int(last) if isinstance(node, list) else last] = value
    return data


@pytest.mark.parametrize(
    ("changes", "message"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN]
)
def test_an_unreadable_stored_run_is_a_clear_error(changes, message):
    with pytest.raises(PlanRunError, match=message):
        PlanRun.from_json(_damage(progressed().to_json(), changes))


def test_the_table_shows_each_part_its_tier_attempts_cost_and_the_totals():
    table = render_plan_table(progressed())
    lines = table.splitlines()
    assert lines[0] == "| subtask | type | tier | attempts | cost | state |"
    assert lines[2] == "| plan | — | senior | 1 | $0.0200 | ✅ done |"
    assert lines[3] == "| `models` Row types | stub | template | 1 | $0.0000 | ✅ done |"
    assert (
        lines[4] == "| `csv` CSV \\| exporter (hard) | feature | senior | 2 | $0.0700 | ✅ done |"
    )
    assert lines[5] == "| `docs` Docs | docs | — | 0 | $0.0000 | ⏳ running |"
    assert lines[-1] == "**Total:** $0.0900 (all on senior: $0.1000)"


def test_a_restart_never_runs_a_committed_subtask_again():
    run = progressed().running("models")  # as if a retry of models was cut off too
    run = PlanRun.from_json(run.to_json())  # what the restarted worker reads from the marker
    resumed = run.resumed({"docs": Committed("d" * 40, "intern", 0.0, 0.002)})
    docs = resumed.get("docs")
    assert (docs.state, docs.commit, docs.tier) == (S.DONE, "d" * 40, "intern")
    assert docs.attempts[-1].detail == "found on the branch after a restart"
    assert resumed.get("models").state is S.PENDING  # no commit found: it runs again
    assert resumed.get("csv") == run.get("csv")  # done subtasks are left alone
    assert resumed.senior_cost_usd == pytest.approx(0.102)


def test_a_resumed_commit_of_unknown_cost_is_unknown_not_free():
    resumed = progressed().resumed({"docs": Committed("d" * 40, "junior")})
    assert resumed.get("docs").cost_usd is None
    assert "unknown" in render_plan_table(resumed)
