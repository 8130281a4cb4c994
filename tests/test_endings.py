"""The pure endings: failing tests read from a check's log, red bases, empty tasks, details."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bot.core.endings import base_red, check_detail, empty_task, status_detail
from bot.core.suite.results import failure_line, summarize
from bot.core.types import CheckResult

PYTEST_RED = """\
..F.E                                                                    [100%]
==================================== ERRORS ====================================
_______________________ ERROR at setup of test_fixture _______________________
E       fixture 'db' not found
=================================== FAILURES ===================================
___________________________________ test_mul ___________________________________

    def test_mul():
>       assert mul(2, 3) == 6
E       assert 5 == 6
E        +  where 5 = mul(2, 3)

tests/test_calc.py:5: AssertionError
=========================== short test summary info ============================
FAILED tests/test_calc.py::test_mul - assert 5 == 6
ERROR tests/test_calc.py::test_fixture
1 failed, 2 passed, 1 error in 0.05s
"""

COLLECTION_ERROR = """\
==================================== ERRORS ====================================
_____________________ ERROR collecting tests/test_time.py ______________________
ImportError while importing test module '/w/tests/test_time.py'.
Traceback:
src/humanize/__init__.py:3: in <module>
    from humanize._version import __version__
E   ModuleNotFoundError: No module named 'humanize._version'
=========================== short test summary info ============================
ERROR tests/test_time.py
!!!!!!!!!!!!!!!!!!!! Interrupted: 1 error during collection !!!!!!!!!!!!!!!!!!!!
1 error in 0.12s
"""


def red(output: str, code: int = 1) -> CheckResult:
    return CheckResult(False, code, 1.25, "pytest -q", output)


def test_pytest_summary_gives_failing_ids_with_reasons_and_the_e_lines():
    found = summarize(PYTEST_RED)
    assert found.tests == (
        "FAILED tests/test_calc.py::test_mul - assert 5 == 6",
        "ERROR tests/test_calc.py::test_fixture",
    )
    assert found.errors[0] == "fixture 'db' not found"
    # The error line a summary line carries already is not repeated.
    assert failure_line(PYTEST_RED).count("assert 5 == 6") == 1


def test_a_collection_error_names_the_missing_module():
    line = failure_line(COLLECTION_ERROR)
    assert line.startswith("ERROR tests/test_time.py; ")
    assert "ModuleNotFoundError: No module named 'humanize._version'" in line


def test_any_other_tool_gives_its_error_lines():
    log = "checking...\nsrc/a.py:3:1: F401 'os' imported but unused\nFound 1 error.\nok\n"
    assert summarize(log).errors == ("src/a.py:3:1: F401 'os' imported but unused",)
    assert summarize("all good\n").line() == ""


def test_many_failures_are_counted_not_listed():
    log = "".join(f"FAILED t.py::test_{i} - boom\n" for i in range(9))
    line = failure_line(log)
    assert "test_4" in line and "test_5" not in line and "(+4 more)" in line


def test_check_detail_of_a_red_check_carries_its_failures():
    detail = check_detail(red(PYTEST_RED))
    assert detail == (
        "`pytest -q` failed (exit 1) in 1.2 s: FAILED tests/test_calc.py::test_mul - "
        "assert 5 == 6; ERROR tests/test_calc.py::test_fixture; fixture 'db' not found"
    )
    assert check_detail(CheckResult(True, 0, 2.0, "pytest -q")) == "`pytest -q` passed in 2.0 s"
    assert check_detail(CheckResult(True, 0, 0.0, "")) == "no check configured"
    timed = CheckResult(False, None, 60.0, "pytest -q", "...", timed_out=True)
    assert check_detail(timed) == "`pytest -q` timed out after 60 s"


@pytest.mark.parametrize("task_type", ["tests", "docs", "config", "refactor"])
def test_a_red_base_stops_tasks_whose_work_cannot_make_it_green(task_type):
    reason = base_red(task_type, "0123456789abcdef", red(COLLECTION_ERROR, 2))
    assert reason is not None
    assert reason.startswith("the check already fails on 0123456789: ERROR tests/test_time.py")


@pytest.mark.parametrize("task_type", ["feature", "stub", "boilerplate", "my-own-type"])
def test_a_red_base_is_the_specification_of_tasks_that_change_behaviour(task_type):
    # A failing test of a function to write is what such a task is asked to turn green.
    assert base_red(task_type, "0" * 40, red(PYTEST_RED)) is None


def test_no_tests_yet_is_not_a_red_base():
    no_tests = red("\nno tests ran in 0.01s\n", 5)
    assert base_red("tests", "0" * 40, no_tests) is None
    # Exit 5 for another reason (a tool that is not pytest) is still red.
    assert base_red("tests", "0" * 40, red("error: bad flag\n", 5)) is not None
    assert base_red("tests", "0" * 40, CheckResult(True, 0, 0.1, "pytest")) is None


def test_a_red_check_without_error_lines_still_says_what_failed():
    reason = base_red("tests", "a" * 40, red("", 3))
    assert reason == "the check already fails on aaaaaaaaaa: `pytest -q` failed (exit 3) in 1.2 s"


@pytest.mark.parametrize("text", ["", "  \n", "<!-- only a template comment -->", "# \n- \n"])
def test_an_empty_task_is_named(text):
    assert empty_task(text) == (
        "the task is empty: say what to do, e.g. 'Add tests for src/pkg/module.py'"
    )


def test_a_task_with_words_is_not_empty():
    assert empty_task("<!-- x -->\nAdd tests for a.py") is None


@dataclass(frozen=True)
class A:
    tier: str
    outcome: str
    detail: str


def test_status_detail_shows_the_decline_and_the_last_failure():
    attempts = [
        A("template", "declined", "no generator for feature tasks"),
        A("intern", "check-failed", "`pytest` failed (exit 1): FAILED t.py::test_a"),
    ]
    assert status_detail("needs-human", "ceiling intern reached after check-failed", attempts) == (
        "template declined: no generator for feature tasks; "
        "last: `pytest` failed (exit 1): FAILED t.py::test_a"
    )
    # Done: the decline is still said, the passing check is not repeated.
    done = [attempts[0], A("intern", "green", "`pytest` passed in 1.0 s")]
    assert status_detail("done", "check passed", done) == (
        "template declined: no generator for feature tasks"
    )
    # A reason that already holds the detail is not repeated.
    ended = [A("template", "nothing-to-do", "every name is covered")]
    assert status_detail("nothing-to-do", "every name is covered", ended) == ""
    assert len(status_detail("needs-human", "", [A("t", "x", "y" * 1000)])) == 400
