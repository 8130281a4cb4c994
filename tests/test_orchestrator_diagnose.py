"""What a plan stopped at a subtask's ceiling keeps between jobs so its diagnosis is asked once.

The diagnosis itself runs end to end in tests/test_orchestrator_github.py.
"""

from __future__ import annotations

import json

from bot.core.plan import parse_plan
from bot.core.plan_run import PlannerRun, PlanRun
from bot.engine import make_task
from bot.orchestrator.state import FeatureRun
from tests.test_orchestrator_local import ISSUE, plan_reply


def feature(**changes: object) -> FeatureRun:
    plan = parse_plan(plan_reply())
    assert not isinstance(plan, list)
    run = PlanRun.start(plan, PlannerRun("senior", 1, 0.01, 0.01))
    return FeatureRun(3, make_task(ISSUE, "feature"), run, **changes)  # type: ignore[arg-type]


def test_the_diagnosed_head_is_stored_with_the_plan():
    stored = json.loads(json.dumps(feature(diagnosed="0f3c9a1").to_json()))
    assert FeatureRun.from_json(stored).diagnosed == "0f3c9a1"


def test_a_plan_stored_before_diagnoses_were_kept_loads_as_not_diagnosed():
    stored = feature().to_json()
    del stored["diagnosed"]
    assert FeatureRun.from_json(stored).diagnosed is None
