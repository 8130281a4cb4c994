"""Charge a red check to the subtasks of a plan that own the failing files.

Pure: the check's log (pytest, or any tool that prints ``path:line:``) in, subtask ids out.
The rules, in order:

1. A file named where an error was raised (``File "pkg/mod.py", line 3``, ``pkg/mod.py:12:
   in f``, ``pkg/mod.py:12:5: F401``, or the module an ``ImportError`` could not import a
   name from) that is not a test file is charged to its owner.
2. A failing test file (``FAILED tests/test_x.py::test_y``, ``ERROR tests/test_x.py``, or a
   test file in a traceback) is charged to the owner of the module it tests
   (``tests/test_mod.py`` tests ``mod.py``) when a subtask of the plan owns that module, and
   to the test file's own owner otherwise. The tests are the plan's contract: the code under
   test is asked to meet them, and a model is never asked to edit a test until it passes.
3. When no failing file is owned by a subtask, the plan's hardest subtask is charged.

Only the charged subtasks retry or escalate; the others keep their commits.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from bot.core.plan import Plan

FAILED_TEST = re.compile(
    r"^(?:FAILED|ERROR)\s+(\S+?\.py)(?=::|\s|$)"
    r"|ERROR collecting (\S+?\.py)\b"
    r"|ImportError while importing test module '([^']+?\.py)'",
    re.MULTILINE,
)
RAISED_AT = re.compile(
    r"File \"([^\"]+?\.py)\", line \d+"  # a Python traceback
    r"|cannot import name '[^']*' from '[^']*' \(([^()]+?\.py)\)"  # the module lacking it
    r"|^\s*([^\s:\"'()]+?\.py):\d+(?::\d+)?:",  # pytest's short traceback, linters, mypy
    re.MULTILINE,
)
# Warnings name files of passing tests; they are not failures.
WARNINGS_SECTION = re.compile(r"^=+ warnings summary =+$.*?(?=^=+ |\Z)", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Attribution:
    subtasks: tuple[str, ...]  # the subtasks to retry or escalate, in plan order
    evidence: tuple[str, ...]  # "path -> subtask (why)" lines, for the status comment
    fallback: bool  # no failing file is owned: the hardest subtask is charged


def is_test_file(path: str) -> bool:
    parts = path.split("/")
    base = parts[-1]
    return base.startswith("test_") or base.endswith("_test.py") or base == "conftest.py"


def failing_files(log: str) -> tuple[list[str], list[str]]:
    """(failing test files, files where errors were raised), each in order of first mention."""
    log = WARNINGS_SECTION.sub("", log.replace("\\", "/"))
    tests = [next(g for g in m.groups() if g) for m in FAILED_TEST.finditer(log)]
    raised = [next(g for g in m.groups() if g) for m in RAISED_AT.finditer(log)]
    tests += [p for p in raised if is_test_file(p)]
    return _unique(tests), _unique(p for p in raised if not is_test_file(p))


def _unique(paths: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(p.removeprefix("./") for p in paths))


def attribute_failure(
    plan: Plan,
    log: str,
    *,
    hardest: str,
    failing_paths: Sequence[str] = (),
    touched: Mapping[str, Sequence[str]] | None = None,
) -> Attribution:
    """The subtasks a red check is charged to (see the module's rules).

    ``failing_paths`` adds files known to fail from elsewhere (CI annotations); ``touched``
    adds the files each subtask's commits actually changed to the files its plan names.
    """
    owners = _owners(plan, touched or {})
    tests, raised = failing_files(log)
    tests += [p for p in failing_paths if is_test_file(p) and p not in tests]
    raised += [p for p in failing_paths if not is_test_file(p) and p not in raised]
    charged: dict[str, None] = {}
    evidence: list[str] = []
    for path in raised:
        owned = _resolve(path, owners)
        if owned is not None:
            charged.setdefault(owners[owned])
            evidence.append(f"{owned} -> {owners[owned]} (the error was raised there)")
    for path in tests:
        for subject, owner, why in _test_owners(path, owners):
            charged.setdefault(owner)
            evidence.append(f"{subject} -> {owner} ({why})")
    if not charged:
        return Attribution(
            (hardest,),
            (f"no failing file belongs to a subtask -> {hardest} (the plan's hardest)",),
            True,
        )
    order = [s.id for s in plan.subtasks if s.id in charged]
    return Attribution(tuple(order), tuple(dict.fromkeys(evidence)), False)


def _owners(plan: Plan, touched: Mapping[str, Sequence[str]]) -> dict[str, str]:
    owners = plan.owners()
    for subtask_id, paths in touched.items():
        for path in paths:
            owners.setdefault(path, subtask_id)
    return owners


def _resolve(path: str, owners: Mapping[str, str]) -> str | None:
    """The owned repository path a log's path names (CI prints absolute paths)."""
    if path in owners:
        return path
    matches = [owned for owned in owners if path.endswith("/" + owned)]
    return max(matches, key=len) if matches else None


def _test_owners(path: str, owners: Mapping[str, str]) -> list[tuple[str, str, str]]:
    test = _resolve(path, owners)
    base = path.rsplit("/", 1)[-1]
    stem = base.removeprefix("test_").removesuffix(".py").removesuffix("_test")
    subjects = [
        owned
        for owned in owners
        if owned.rsplit("/", 1)[-1] == f"{stem}.py" and not is_test_file(owned)
    ]
    shown = test or path
    if subjects:
        return [(s, owners[s], f"the module {shown} tests") for s in subjects]
    if test is not None:
        return [(test, owners[test], "a failing test file")]
    return []
