"""The planner's answer judged: every reason a plan may not run, and accept, retry or fall back.

``validate_plan`` lists every reason the plan may not run, and ``review_answer`` combines it
with ``parse_plan`` and the one-retry rule. A reason names subtask ids and paths, never the
answer's own prose, so it can be posted in the status comment and sent back to the planner as
is.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass

from bot.core.paths import check_paths
from bot.core.plan import (
    ID_PATTERN,
    MAX_INSTRUCTIONS_CHARS,
    MAX_PLAN_CHARS,
    MAX_SIGNATURES_CHARS,
    MAX_SUMMARY_CHARS,
    MAX_TITLE_CHARS,
    PLANNER_ATTEMPTS,
    Plan,
    Subtask,
    parse_plan,
)
from bot.core.types import EditSet, FileEdit
from bot.spec import PathPolicy, TaskTypeSpec


def plan_types(task_types: Mapping[str, TaskTypeSpec]) -> frozenset[str]:
    """The task types a subtask may have: those whose output is a commit."""
    return frozenset(name for name, spec in task_types.items() if spec.output == "commit")


def validate_plan(
    plan: Plan, *, known_types: Collection[str], policy: PathPolicy, max_subtasks: int
) -> list[str]:
    """Every reason ``plan`` may not run, in a stable order; an empty list means it may."""
    if not plan.subtasks:
        return ["the plan has no subtasks"]
    reasons: list[str] = []
    if len(plan.subtasks) > max_subtasks:
        reasons.append(
            f"the plan has {len(plan.subtasks)} subtasks; at most {max_subtasks} are allowed "
            "(plan.max_subtasks): merge small ones of the same type"
        )
    if len(plan.summary) > MAX_SUMMARY_CHARS:
        reasons.append(f"the summary is over {MAX_SUMMARY_CHARS} characters")
    reasons += _id_reasons(plan)
    allowed = ", ".join(sorted(known_types))
    for subtask in plan.subtasks:
        reasons += _subtask_reasons(subtask, known_types, allowed, policy)
    reasons += _ownership_reasons(plan)
    reasons += _dependency_reasons(plan)
    size = len(json.dumps(plan.to_json()))
    if size > MAX_PLAN_CHARS:
        reasons.append(f"the plan is {size} characters of JSON; at most {MAX_PLAN_CHARS}")
    return reasons


def _id_reasons(plan: Plan) -> Iterator[str]:
    seen: set[str] = set()
    for subtask in plan.subtasks:
        if not ID_PATTERN.fullmatch(subtask.id):
            yield (
                f"subtask id {subtask.id[:60]!r} is not a short name "
                "(letters, digits, '.', '_' and '-', at most 40 characters)"
            )
        elif subtask.id in seen:
            yield f"subtask id {subtask.id!r} is used twice; ids must be unique"
        seen.add(subtask.id)


def _subtask_reasons(
    subtask: Subtask, known_types: Collection[str], allowed: str, policy: PathPolicy
) -> Iterator[str]:
    where = f"subtask {subtask.id[:40]!r}"
    if subtask.type not in known_types:
        yield f"{where}: unknown type {subtask.type[:40]!r} (allowed: {allowed})"
    if len(subtask.title) > MAX_TITLE_CHARS:
        yield f"{where}: the title is over {MAX_TITLE_CHARS} characters"
    if len(subtask.instructions) > MAX_INSTRUCTIONS_CHARS:
        yield f"{where}: the instructions are over {MAX_INSTRUCTIONS_CHARS} characters"
    if sum(len(s) for s in subtask.signatures) > MAX_SIGNATURES_CHARS:
        yield f"{where}: the signatures are over {MAX_SIGNATURES_CHARS} characters"
    if not subtask.files:
        yield f"{where}: names no file; every subtask creates or changes at least one"
    duplicates = sorted({p for p in subtask.files if subtask.files.count(p) > 1})
    for path in duplicates:
        yield f"{where}: names {path} twice"
    # The same policy every commit meets, so a plan never promises what no commit may do.
    edits = EditSet(tuple(FileEdit(path, None) for path in dict.fromkeys(subtask.files)))
    for violation in check_paths(edits, policy):
        yield f"{where}: {violation.reason}"


def _ownership_reasons(plan: Plan) -> Iterator[str]:
    named: dict[str, list[str]] = {}
    for subtask in plan.subtasks:
        for path in dict.fromkeys(subtask.files):
            named.setdefault(path, []).append(subtask.id)
    for path, ids in named.items():
        if len(ids) > 1:
            names = " and ".join(repr(i) for i in ids)
            yield (
                f"{path} is named by subtasks {names}; each file belongs to one subtask "
                "(merge them, or let one depend on the other)"
            )


def _dependency_reasons(plan: Plan) -> list[str]:
    ids = set(plan.ids)
    reasons = []
    for subtask in plan.subtasks:
        for dep in subtask.depends_on:
            if dep == subtask.id:
                reasons.append(f"subtask {subtask.id!r} depends on itself")
            elif dep not in ids:
                reasons.append(f"subtask {subtask.id!r} depends on unknown subtask {dep[:40]!r}")
    if not reasons:
        cycle = find_cycle(plan)
        if cycle:
            reasons.append("the dependencies form a cycle: " + " -> ".join(cycle))
    return reasons


def find_cycle(plan: Plan) -> list[str]:
    """One dependency cycle as ``[a, b, ..., a]``, or ``[]`` when the plan is a DAG."""
    edges = {s.id: [d for d in s.depends_on if d != s.id] for s in plan.subtasks}
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for dep in edges.get(node, ()):
            if state.get(dep) == 1:
                return [*path[path.index(dep) :], dep]
            if dep in edges and dep not in state:
                found = visit(dep)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return []

    for subtask in plan.subtasks:
        if subtask.id not in state:
            found = visit(subtask.id)
            if found:
                return found
    return []


def retry_feedback(reasons: Sequence[str]) -> str:
    """What the planner is told on its one retry."""
    lines = "\n".join(f"- {reason}" for reason in reasons)
    return (
        "Your plan was rejected for these reasons:\n"
        f"{lines}\n"
        "Answer again with the whole corrected plan as one JSON object in the format above."
    )


@dataclass(frozen=True)
class Accepted:
    plan: Plan


@dataclass(frozen=True)
class Rejected:
    """An unusable plan: ``retry`` with ``feedback``, or fall back to the single-ladder run."""

    reasons: tuple[str, ...]
    retry: bool
    feedback: str
    message: str  # for the status comment: Markdown, with "<" and ">" escaped


def review_answer(
    text: str,
    *,
    attempt: int,
    known_types: Collection[str],
    policy: PathPolicy,
    max_subtasks: int,
) -> Accepted | Rejected:
    """Judge the planner's ``attempt``-th answer (1-based): accept, retry once, or fall back."""
    parsed = parse_plan(text)
    reasons = (
        parsed
        if isinstance(parsed, list)
        else validate_plan(
            parsed, known_types=known_types, policy=policy, max_subtasks=max_subtasks
        )
    )
    if not reasons:
        assert isinstance(parsed, Plan)
        return Accepted(parsed)
    retry = attempt < PLANNER_ATTEMPTS
    then = (
        "asking the planner once more with these reasons"
        if retry
        else "running the issue on one ladder instead, as without a plan"
    )
    # Reasons quote the model's ids and paths; in a comment, no "<" may open HTML (or a
    # look-alike of the hidden state marker).
    listed = "; ".join(reasons).replace("<", "&lt;").replace(">", "&gt;")
    return Rejected(
        reasons=tuple(reasons),
        retry=retry,
        feedback=retry_feedback(reasons) if retry else "",
        message=f"plan {attempt} of {PLANNER_ATTEMPTS} rejected: {listed}; {then}",
    )
