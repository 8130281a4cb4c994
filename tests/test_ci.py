"""Table tests for CI attribution."""

from __future__ import annotations

import pytest

from bot.core.ci import JobInfo, StepInfo, attribute


def job(*steps: tuple[str, str], conclusion: str = "failure") -> JobInfo:
    return JobInfo(1, "test", conclusion, tuple(StepInfo(n, c) for n, c in steps))


OK = ("Set up job", "success")
CASES = [
    ("tests failed: bot's fault", [job(OK, ("Run pytest -q", "failure"))], False, "", None),
    ("base branch red", [job(OK, ("Run pytest -q", "failure"))], True, "", "base branch main"),
    ("setup failed", [job(("Set up job", "failure"))], False, "", "before the tests ran"),
    (
        "install failed",
        [job(OK, ("Install dependencies", "failure"))],
        False,
        "",
        "'Install dependencies'",
    ),
    (
        "missing secret",
        [job(OK, ("Run deploy", "failure"))],
        False,
        "Error: secret DEPLOY_TOKEN is not set",
        "missing a secret",
    ),
    ("no step data", [job()], False, "E   assert 1 == 2", None),
    (
        "one job setup, another tests",
        [job(("Set up job", "failure")), job(OK, ("Run pytest", "failure"))],
        False,
        "",
        None,
    ),
]


@pytest.mark.parametrize(
    ("jobs", "base_red", "log", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_attribute(jobs, base_red, log, expected):
    reason = attribute(jobs, base_branch="main", base_red=base_red, log=log)
    if expected is None:
        assert reason is None
    else:
        assert reason is not None and expected in reason
