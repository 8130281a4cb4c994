"""The orchestrator's plan: typed subtasks, the planner's JSON answer read, and the plan checked.

Pure. The planner tier answers with one JSON object in the format ``plan.md.j2`` states;
``parse_plan`` reads it into a :class:`Plan` or says why it cannot, ``validate_plan`` lists
every reason the plan may not run, and ``review_answer`` combines both with the one-retry rule.
A reason names subtask ids and paths, never the answer's own prose, so it can be posted in the
status comment and sent back to the planner as is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.core.answers import extract_json, without_quote
from bot.core.paths import check_paths
from bot.core.types import EditSet, FileEdit
from bot.spec import PathPolicy, TaskTypeSpec

# Bounds that keep a plan readable and its JSON inside the status comment's hidden marker
# (GitHub refuses a comment over 65,536 characters; the table and the run state share it).
MAX_SUMMARY_CHARS = 500
MAX_TITLE_CHARS = 100
MAX_INSTRUCTIONS_CHARS = 2000
MAX_SIGNATURES_CHARS = 3000
MAX_PLAN_CHARS = 40_000
# Ids go into commit trailers (``Tierbot-Subtask: <id>``) and branch-local bookkeeping.
ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")
# The first answer and one retry with the reasons; then the single-ladder run.
PLANNER_ATTEMPTS = 2


@dataclass(frozen=True)
class Subtask:
    """One typed piece of the plan: one ladder, one commit, the files it alone may write."""

    id: str
    type: str
    title: str
    instructions: str
    files: tuple[str, ...]
    depends_on: tuple[str, ...] = ()
    signatures: tuple[str, ...] = ()  # for a stub: the definitions the new module must hold
    hard: bool = False  # the plan's hard core: starts at the planner's tier

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "type": self.type,
            "title": self.title,
            "instructions": self.instructions,
            "files": list(self.files),
            "depends_on": list(self.depends_on),
        }
        if self.signatures:
            data["signatures"] = list(self.signatures)
        if self.hard:
            data["hard"] = True
        return data


@dataclass(frozen=True)
class Plan:
    summary: str
    subtasks: tuple[Subtask, ...]

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(s.id for s in self.subtasks)

    def subtask(self, subtask_id: str) -> Subtask:
        for subtask in self.subtasks:
            if subtask.id == subtask_id:
                return subtask
        raise KeyError(subtask_id)

    def owners(self) -> dict[str, str]:
        """Each named file -> the id of the (first) subtask that names it."""
        owned: dict[str, str] = {}
        for subtask in self.subtasks:
            for path in subtask.files:
                owned.setdefault(path, subtask.id)
        return owned

    def to_json(self) -> dict[str, Any]:
        return {"summary": self.summary, "subtasks": [s.to_json() for s in self.subtasks]}


class PlanError(ValueError):
    """The planner's answer holds no usable plan."""


def parse_plan(text: str) -> Plan | list[str]:
    """The plan in the planner's answer, or the reasons it is unusable (never raises)."""
    try:
        data = extract_json(text, (dict,), PlanError)
    except PlanError as exc:
        return [without_quote(exc)]
    return plan_from_json(data)


def plan_from_json(data: Any) -> Plan | list[str]:
    """A plan from its JSON form (the planner's answer, or a stored run state)."""
    if not isinstance(data, Mapping):
        return [f"the plan must be a JSON object, not {_kind(data)}"]
    reasons: list[str] = []
    summary = data.get("summary", "")
    if not isinstance(summary, str):
        reasons.append(f'"summary" must be a string, not {_kind(summary)}')
        summary = ""
    raw = data.get("subtasks")
    if not isinstance(raw, list):
        reasons.append(f'"subtasks" must be a list of objects, not {_kind(raw)}')
        return reasons
    subtasks = []
    for index, item in enumerate(raw, 1):
        subtask = _subtask(index, item, reasons)
        if subtask is not None:
            subtasks.append(subtask)
    return reasons or Plan(summary.strip(), tuple(subtasks))


def _subtask(index: int, item: Any, reasons: list[str]) -> Subtask | None:
    where = f"subtask {index}"
    if not isinstance(item, Mapping):
        reasons.append(f"{where} must be a JSON object, not {_kind(item)}")
        return None
    before = len(reasons)
    raw_id = item.get("id")
    if isinstance(raw_id, str) and raw_id:
        where = f"subtask {raw_id!r}" if ID_PATTERN.fullmatch(raw_id) else where
    fields = {name: _text(item, name, where, reasons) for name in ("id", "type", "title")}
    instructions = _text(item, "instructions", where, reasons)
    files = _strings(item, "files", where, reasons)
    depends_on = _strings(item, "depends_on", where, reasons, required=False)
    signatures = item.get("signatures", [])
    if isinstance(signatures, str):  # one signature block given as a string: take it as is
        signatures = [signatures]
    signatures = _strings({"signatures": signatures}, "signatures", where, reasons, required=False)
    hard = item.get("hard", False)
    if not isinstance(hard, bool):
        reasons.append(f'{where}: "hard" must be true or false, not {_kind(hard)}')
    if len(reasons) > before:
        return None
    return Subtask(
        id=fields["id"],
        type=fields["type"],
        title=fields["title"],
        instructions=instructions,
        files=tuple(files),
        depends_on=tuple(depends_on),
        signatures=tuple(signatures),
        hard=hard,
    )


def _text(item: Mapping[str, Any], name: str, where: str, reasons: list[str]) -> str:
    value = item.get(name)
    if not isinstance(value, str) or not value.strip():
        reasons.append(f'{where}: "{name}" must be a non-empty string, not {_kind(value)}')
        return ""
    return value.strip()


def _strings(
    item: Mapping[str, Any], name: str, where: str, reasons: list[str], *, required: bool = True
) -> list[str]:
    value = item.get(name, None if required else [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        reasons.append(f'{where}: "{name}" must be a list of strings, not {_kind(value)}')
        return []
    return [v.strip() for v in value]


def _kind(value: Any) -> str:
    if value is None:
        return "missing or null"
    return {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
    }.get(type(value), type(value).__name__)


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
