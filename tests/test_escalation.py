"""Table tests for the escalation policy."""

from __future__ import annotations

import pytest

from bot.core.escalation import BudgetView, Ladder, StepKind, next_step
from bot.core.types import AttemptRecord, Outcome

LADDER = Ladder(("template", "intern", "junior", "senior"), "template", "junior", attempts=2)
RICH = BudgetView(10.0, {"template": 0.0, "intern": 0.0, "junior": 0.01, "senior": 0.5})
T, IN, J = "template", "intern", "junior"
Oc = Outcome


def h(*pairs: tuple[str, Outcome]) -> list[AttemptRecord]:
    return [AttemptRecord(tier, outcome) for tier, outcome in pairs]


CASES = [
    ("first call starts at start tier", [], None, StepKind.CALL, T, False),
    ("green is done", h((T, Oc.GREEN)), Oc.GREEN, StepKind.DONE, T, False),
    ("declined passes up", h((T, Oc.DECLINED)), Oc.DECLINED, StepKind.CALL, IN, False),
    ("bad edit retried once", h((IN, Oc.INVALID_EDIT)), Oc.INVALID_EDIT, StepKind.CALL, IN, True),
    (
        "bad edit twice climbs",
        h((IN, Oc.INVALID_EDIT), (IN, Oc.INVALID_EDIT)),
        Oc.INVALID_EDIT,
        StepKind.CALL,
        J,
        False,
    ),
    ("policy retried once", h((IN, Oc.POLICY)), Oc.POLICY, StepKind.CALL, IN, True),
    (
        "policy then bad edit climbs",
        h((IN, Oc.POLICY), (IN, Oc.INVALID_EDIT)),
        Oc.INVALID_EDIT,
        StepKind.CALL,
        J,
        False,
    ),
    ("check failure retried", h((IN, Oc.CHECK_FAILED)), Oc.CHECK_FAILED, StepKind.CALL, IN, True),
    (
        "check failures up to attempts then climb",
        h((IN, Oc.CHECK_FAILED), (IN, Oc.CHECK_FAILED)),
        Oc.CHECK_FAILED,
        StepKind.CALL,
        J,
        False,
    ),
    (
        "streak counts only the current tier",
        h((IN, Oc.CHECK_FAILED), (IN, Oc.CHECK_FAILED), (J, Oc.CHECK_FAILED)),
        Oc.CHECK_FAILED,
        StepKind.CALL,
        J,
        True,
    ),
    (
        "model error climbs at once",
        h((IN, Oc.MODEL_ERROR)),
        Oc.MODEL_ERROR,
        StepKind.CALL,
        J,
        False,
    ),
    (
        "context exceeded climbs",
        h((IN, Oc.CONTEXT_EXCEEDED)),
        Oc.CONTEXT_EXCEEDED,
        StepKind.CALL,
        J,
        False,
    ),
    (
        "auth error needs a human",
        h((J, Oc.AUTH_ERROR)),
        Oc.AUTH_ERROR,
        StepKind.NEEDS_HUMAN,
        J,
        False,
    ),
    (
        "ceiling reached",
        h((J, Oc.CHECK_FAILED), (J, Oc.CHECK_FAILED)),
        Oc.CHECK_FAILED,
        StepKind.NEEDS_HUMAN,
        J,
        False,
    ),
    ("refused call stops", h((J, Oc.BUDGET)), Oc.BUDGET, StepKind.BUDGET_STOP, J, False),
]


@pytest.mark.parametrize(
    ("history", "outcome", "kind", "tier", "retry"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_next_step(history, outcome, kind, tier, retry):
    step = next_step(LADDER, history, outcome, RICH)
    assert (step.kind, step.tier, step.retry) == (kind, tier, retry)
    assert step.reason


def test_budget_smaller_than_worst_case_stops_before_calling():
    poor = BudgetView(0.001, {"template": 0.0, "intern": 0.0, "junior": 0.01, "senior": 0.5})
    step = next_step(LADDER, h((IN, Oc.MODEL_ERROR)), Oc.MODEL_ERROR, poor)
    assert step.kind is StepKind.BUDGET_STOP
    assert "$0.0100" in step.reason and "$0.0010" in step.reason


def test_unknown_price_cannot_be_bounded():
    view = BudgetView(10.0, {"template": 0.0, "intern": 0.0, "junior": None})
    step = next_step(LADDER, h((IN, Oc.MODEL_ERROR)), Oc.MODEL_ERROR, view)
    assert step.kind is StepKind.BUDGET_STOP
    assert "tiers.junior.price" in step.reason


def test_free_tiers_run_on_an_empty_budget():
    view = BudgetView(0.0, RICH.worst_case)
    assert next_step(LADDER, [], None, view).kind is StepKind.CALL


def test_outcome_without_history_is_a_bug():
    with pytest.raises(ValueError):
        next_step(LADDER, [], Outcome.GREEN, RICH)
