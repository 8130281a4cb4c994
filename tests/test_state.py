"""The status comment and its hidden marker."""

from __future__ import annotations

import pytest

from bot.core.state import StepLine, decode_marker, encode_marker, render_status


@pytest.mark.parametrize(
    "state",
    [{"task": 1}, {"text": "a --> b <!-- c"}, {"nested": {"x": [1, 2]}}, {}],
    ids=["simple", "comment-breakers", "nested", "empty"],
)
def test_marker_round_trips_and_stays_a_comment(state):
    marker = encode_marker(state)
    assert marker.count("-->") == 1 and marker.endswith("-->")
    assert decode_marker(f"text before\n{marker}\ntext after") == state


@pytest.mark.parametrize("body", ["", "no marker", "<!-- tierbot:state {broken -->", None])
def test_decode_without_a_marker(body):
    assert decode_marker(body) is None


def test_render_lists_the_ladder_and_costs():
    body = render_status(
        issue=7,
        task_type="stub",
        status="running",
        headline="Working on it.",
        steps=[
            StepLine(1, "template", "declined", "no generator", 0.0),
            StepLine(2, "intern", "check-failed", "pytest | failed", None),
        ],
        cost_usd=0.0,
        senior_cost_usd=0.05,
        next_step="retry intern with the CI log",
        marker={"task": 3},
    )
    assert "| 2 | intern | check-failed | unknown | pytest \\| failed |" in body
    assert "all on senior: $0.0500" in body and "**Next:** retry intern" in body
    assert decode_marker(body) == {"issue": 7, "task": 3}
