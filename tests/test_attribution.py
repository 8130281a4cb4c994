"""Table tests for charging a red check to the subtasks that own the failing files."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.attribution import attribute_failure, failing_files, is_test_file
from bot.core.plan import Plan, Subtask

FIXTURES = Path(__file__).parent / "fixtures" / "logs"


def subtask(sid: str, kind: str, *files: str) -> Subtask:
    return Subtask(sid, kind, sid, sid, files)


PLAN = Plan(
    "CSV export",
    (
        subtask("models", "stub", "src/shop/models.py"),
        subtask("csv", "feature", "src/shop/csv_export.py"),
        subtask("csv-tests", "tests", "tests/test_csv_export.py"),
        subtask("models-tests", "tests", "tests/test_models.py"),
        subtask("broken", "tests", "tests/test_broken.py"),
        subtask("cart-tests", "tests", "tests/test_cart.py"),
        subtask("docs", "docs", "docs/export.md"),
    ),
)


def charged(log: str, **kw) -> tuple[str, ...]:
    return attribute_failure(PLAN, log, hardest="csv", **kw).subtasks


def test_a_real_pytest_run_is_charged_to_the_owners_of_the_failing_code():
    log = (FIXTURES / "pytest_red.txt").read_text("utf-8")
    result = attribute_failure(PLAN, log, hardest="docs")
    # test_csv_export fails on csv's code; test_models raises in models.py; test_broken cannot
    # import a name models.py lacks (models) and tests no module of the plan (its own owner).
    assert result.subtasks == ("models", "csv", "broken")
    assert not result.fallback
    assert "src/shop/models.py -> models (the error was raised there)" in result.evidence
    assert "src/shop/csv_export.py -> csv (the module tests/test_csv_export.py tests)" in (
        result.evidence
    )
    assert "tests/test_broken.py -> broken (a failing test file)" in result.evidence


CASES = [
    (
        "a failing test is charged to its subject's owner, not the test's",
        "FAILED tests/test_csv_export.py::test_one - AssertionError: assert 'a' == 'b'",
        ("csv",),
    ),
    (
        "a failing test whose subject no subtask owns is the test's own",
        "FAILED tests/test_cart.py::test_total - assert 1 == 2",
        ("cart-tests",),
    ),
    (
        "parametrized ids with spaces",
        "FAILED tests/test_models.py::test_load[a b] - ValueError",
        ("models",),
    ),
    ("collection error", "ERROR tests/test_broken.py - ImportError: nope", ("broken",)),
    (
        "an absolute path from a CI runner",
        'Traceback (most recent call last):\n  File "/home/runner/work/shop/shop/src/shop/'
        'models.py", line 2, in load\nValueError: bad',
        ("models",),
    ),
    (
        "a Windows runner's path",
        'File "C:\\a\\shop\\src\\shop\\models.py", line 2, in load',
        ("models",),
    ),
    ("ruff", "src/shop/csv_export.py:1:8: F401 [*] `os` imported but unused", ("csv",)),
    ("mypy", "src/shop/models.py:2: error: Missing return statement  [empty-body]", ("models",)),
    (
        "library frames are nobody's",
        '  File "/usr/lib/python3.11/json/__init__.py", line 3\nFAILED tests/test_cart.py::test_x',
        ("cart-tests",),
    ),
    (
        "several culprits in plan order",
        "src/shop/csv_export.py:3: in to_csv\nsrc/shop/models.py:2: ValueError",
        ("models", "csv"),
    ),
]


@pytest.mark.parametrize(("log", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_attribution(log, expected):
    assert charged(log) == expected


FALLBACKS = [
    ("empty log", ""),
    ("a timeout", "the check timed out after 600 s"),
    ("an unowned test", "FAILED tests/test_other.py::test_x - assert False"),
    (
        "a warning in a passing test is no failure",
        "=== warnings summary ===\n  src/shop/models.py:3: UserWarning: old\n"
        "=== short test summary info ===\nFAILED tests/test_other.py::test_x",
    ),
]


@pytest.mark.parametrize("log", [f[1] for f in FALLBACKS], ids=[f[0] for f in FALLBACKS])
def test_unattributable_failures_charge_the_hardest_subtask(log):
    result = attribute_failure(PLAN, log, hardest="csv")
    assert result.subtasks == ("csv",)
    assert result.fallback
    assert result.evidence == ("no failing file belongs to a subtask -> csv (the plan's hardest)",)


def test_failing_paths_from_elsewhere_count_too():
    assert charged("", failing_paths=["docs/export.md"]) == ("docs",)
    assert charged("", failing_paths=["tests/test_models.py"]) == ("models",)


def test_files_a_subtask_touched_beyond_its_plan_are_its_own():
    log = "src/shop/__init__.py:3: in <module>"
    assert charged(log) == ("csv",)  # nobody's: the hardest, as a fallback
    assert charged(log, touched={"models": ["src/shop/__init__.py"]}) == ("models",)


def test_failing_files_splits_tests_from_code():
    tests, raised = failing_files(
        "FAILED ./tests/test_a.py::t\ntests/test_a.py:3: AssertionError\npkg/a.py:9: in f"
    )
    assert tests == ["tests/test_a.py"]
    assert raised == ["pkg/a.py"]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("tests/test_a.py", True),
        ("pkg/a_test.py", True),
        ("tests/conftest.py", True),
        ("pkg/testing.py", False),
        ("pkg/a.py", False),
    ],
)
def test_is_test_file(path, expected):
    assert is_test_file(path) is expected
